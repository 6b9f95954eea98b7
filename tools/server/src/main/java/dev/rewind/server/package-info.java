/** {@code rewind serve}: an OpenAI-compatible HTTP server with continuous batching over the paged KV cache. */
package dev.rewind.server;
