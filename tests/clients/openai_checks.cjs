// Run by Node with the official `openai` npm package (build/node-clients, `make clients`):
// asks citeqa one question plainly and streamed and prints what came back as JSON.
// Usage: node openai_checks.cjs BASE_URL QUESTION
const { OpenAI } = require("openai");

async function main() {
  const [baseUrl, question] = process.argv.slice(2);
  const client = new OpenAI({ baseURL: `${baseUrl}/v1`, apiKey: "unused", maxRetries: 0 });
  const messages = [{ role: "user", content: question }];
  const plain = await client.chat.completions.create({ model: "citeqa", messages });
  const stream = await client.chat.completions.create({
    model: "citeqa",
    messages,
    stream: true,
    stream_options: { include_usage: true },
  });
  let streamed = "";
  let usage = null;
  for await (const chunk of stream) {
    if (chunk.choices.length && chunk.choices[0].delta.content) {
      streamed += chunk.choices[0].delta.content;
    }
    if (chunk.usage) usage = chunk.usage.total_tokens;
  }
  let missing = null;
  try {
    await client.models.retrieve("gpt-4o");
  } catch (err) {
    missing = err.status;
  }
  console.log(
    JSON.stringify({
      plain: plain.choices[0].message.content,
      model: plain.model,
      streamed,
      streamed_usage: usage,
      unknown_model_status: missing,
    }),
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
