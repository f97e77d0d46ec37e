"""Training the answer model (citeqa/answering/model.py), one module per job:

- `registry`: which gold sets exist, their questions, documents and groups, and which
  are public (evaluation only with `--public evaluate`);
- `dumps`: each question's candidate units with their feature rows and labels, cached
  under a key derived from the source of every module a dump runs;
- `augment`: near-miss questions and answer-removed twins made from the gold ones;
- `fitting`: the one logistic-regression fit both parts of the model use;
- `replay`: a question reranked, composed and decided exactly as the engine would;
- `heldout`: the leave-one-group-out and k-fold predictions, and the threshold chosen
  from them with the sweep `citeqa calibrate` and `citeqa eval --calibrate` use
  (evals/calibration.py);
- `report`: the held-out report;
- `command`: `python -m evals.train` (`make train-answerer`).

Importing the package imports none of them.
"""
