// Drives the mock with openai-node and prints what it saw as one JSON line.
const OpenAI = require("openai");

async function main(baseURL) {
  const client = new OpenAI({ baseURL, apiKey: "sk-anything", maxRetries: 0, timeout: 5000 });
  const out = {};
  const prompt = "[mock: ttft_ms=0 itl_ms=0 tokens=12] the same question";

  let chat = "";
  for await (const chunk of await client.chat.completions.create({
    model: "gpt-4o-mini", messages: [{ role: "user", content: prompt }], stream: true,
  })) chat += chunk.choices[0]?.delta?.content ?? "";
  out.chat = chat;

  const types = [];
  for await (const event of await client.responses.create({ model: "gpt-4o-mini", input: prompt, stream: true })) {
    types.push(event.type);
  }
  out.responseTypes = types;
  const stream = client.responses.stream({ model: "gpt-4o-mini", input: prompt });
  const final = await stream.finalResponse();
  out.responses = final.output_text;
  out.responsesUsage = final.usage.output_tokens;

  let text = "";
  let usage = null;
  for await (const chunk of await client.completions.create({
    model: "gpt-3.5-turbo-instruct", prompt, max_tokens: 64, stream: true, stream_options: { include_usage: true },
  })) {
    if (chunk.choices.length) text += chunk.choices[0].text;
    if (chunk.usage) usage = chunk.usage.completion_tokens;
  }
  out.completions = text;
  out.completionsUsage = usage;

  try {
    for await (const _ of await client.responses.create({
      model: "gpt-4o-mini", input: "[mock: fault=error_midstream fault_after=2] hi", stream: true,
    })) {}
    out.midstream = "no error";
  } catch (error) {
    out.midstream = `${error.constructor.name}: ${error.message}`;
  }
  try {
    await client.responses.create({ model: "gpt-4o-mini", input: "[mock: fault=http_429] hi" });
  } catch (error) {
    out.rateLimit = `${error.constructor.name} ${error.status}`;
  }
  console.log(JSON.stringify(out));
}

main(process.argv[2]).catch((error) => { console.error(error); process.exit(1); });
