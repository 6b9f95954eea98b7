// Load test of an OpenAI-compatible server with the official `openai` npm client (a client nobody here wrote).
// Measures the aggregate generated tokens/s of N concurrent greedy streams, and the time to first token
// of a long prompt whose prefix the server has cached against one whose prefix it has not seen.
//
//   node load.mjs --base http://127.0.0.1:8080/v1 --model NAME [--concurrency 1,4,16,64] [--max-tokens 32]
//                 [--rounds 1] [--ttft-repeats 3] [--ttft-words 40] [--label rewind]
//
// Prints one JSON line per measurement and a summary table at the end.
import OpenAI from "openai";

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => {
  if (a.startsWith("--")) acc.push([a.slice(2), all[i + 1]]);
  return acc;
}, []));
const base = args.base ?? "http://127.0.0.1:8080/v1";
const model = args.model ?? "model";
const levels = (args.concurrency ?? "1,4,16,64").split(",").map(Number);
const maxTokens = Number(args["max-tokens"] ?? 32);
const rounds = Number(args.rounds ?? 1);
const ttftRepeats = Number(args["ttft-repeats"] ?? 3);
const label = args.label ?? base;
const ttftWords = Number(args["ttft-words"] ?? 40);
const client = new OpenAI({ baseURL: base, apiKey: process.env.OPENAI_API_KEY ?? "none", maxRetries: 0, timeout: 600_000 });

const words = ["river", "garden", "rocket", "winter", "violin", "desert", "island", "forest", "castle", "market",
  "engine", "harbor", "meadow", "planet", "spring", "valley"];
const prompt = (i) => `Write a short note number ${i} about the ${words[i % words.length]} and the ${words[(i * 7 + 3) % words.length]}:`;

/** One greedy streaming completion: its completion tokens (usage, else content chunks) and time to first token. */
async function stream(text, tokens = maxTokens) {
  const start = performance.now();
  let first = null, chunks = 0, usage = null;
  const s = await client.completions.create({ model, prompt: text, max_tokens: tokens, temperature: 0, stream: true,
    stream_options: { include_usage: true } });
  for await (const chunk of s) {
    if (chunk.usage) usage = chunk.usage;
    for (const c of chunk.choices ?? []) {
      if (c.text) {
        if (first === null) first = performance.now() - start;
        chunks++;
      }
    }
  }
  return { tokens: usage?.completion_tokens ?? chunks, ttft: first ?? performance.now() - start, ms: performance.now() - start,
    cached: usage?.prompt_tokens_details?.cached_tokens ?? null };
}

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s.length ? s[Math.floor((s.length - 1) / 2)] : NaN; };
const results = [];
await Promise.all(Array.from({ length: 4 }, (_, i) => stream(`Warm up the server, ${i}.`, 8))); // compile the kernels first
for (let r = 0; r < rounds; r++) {
  for (const n of levels) {
    const start = performance.now();
    const all = await Promise.all(Array.from({ length: n }, (_, i) => stream(prompt(i + 1000 * r + 100 * n))));
    const seconds = (performance.now() - start) / 1000;
    const tokens = all.reduce((a, x) => a + x.tokens, 0);
    const row = { label, kind: "throughput", concurrency: n, round: r, tokens, seconds: +seconds.toFixed(3),
      tokens_per_second: +(tokens / seconds).toFixed(2), ttft_median_ms: +median(all.map((x) => x.ttft)).toFixed(1) };
    results.push(row);
    console.log(JSON.stringify(row));
  }
}

// Time to first token of a ~200-token prompt: after the same long prefix was served once (cached), against a prefix never seen.
const long = (seed) => Array.from({ length: ttftWords }, (_, i) => words[(i * 5 + seed) % words.length]).join(" and ") + ".";
const shared = long(1);
await stream(shared + " First question:", 4); // the server now holds the shared prefix
const cachedT = [], freshT = [];
for (let i = 0; i < ttftRepeats; i++) {
  cachedT.push((await stream(shared + ` Question ${i}:`, 4)).ttft);
  freshT.push((await stream(long(7 + 3 * i) + ` Question ${i}:`, 4)).ttft);
}
const ttft = { label, kind: "ttft", prompt_words: 2 * ttftWords, cached_prefix_ms: +median(cachedT).toFixed(1), fresh_prefix_ms: +median(freshT).toFixed(1) };
results.push(ttft);
console.log(JSON.stringify(ttft));

console.log(`\n${label}: concurrency | tokens/s | median TTFT ms`);
for (const r of results.filter((x) => x.kind === "throughput")) console.log(`${r.concurrency} | ${r.tokens_per_second} | ${r.ttft_median_ms}`);
console.log(`TTFT with a cached prefix ${ttft.cached_prefix_ms} ms, without ${ttft.fresh_prefix_ms} ms`);
