"""The answer stage: which units (sentences, list items, rows) answer a question, and
whether to answer at all.

- features.py: one row of features per (question, unit, passage);
- model.py: the learned model (shipped as answer_model.json, rebuilt by `make
  train-answerer`): P(this unit answers the question) per row, and P(the composed
  answer is right) per question;
- scorer.py: scores every unit of the candidate passages of a retrieval; the query
  pipeline (citeqa.query) ranks passages by their best unit, so the LLM backend gets
  the same passages;
- extractive.py: the extractive answer is the best units, in reading order, when
  P(right) reaches the model's threshold; below it, the answerer abstains.

The package imports none of its modules: importing one runs no other.
"""
