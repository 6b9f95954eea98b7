// Writes llama.cpp's reference run for one model and prompt, the way ../shared/models/ref was made
// (see that folder's README, section 4): the prompt tokenized with add_special and parse_special,
// F32 K and V caches, no flash attention, 2 threads, the whole prompt as one batch with logits at
// every position, then greedy decoding (argmax of the raw logits, ties to the lower id) one token
// per batch, EOS not stopping. Prints the prompt and generated ids as two lines of integers and
// writes the logit rows (prompt positions, then the single-token steps) as raw float32.
//
//   cc -O2 reference.c -I$LLAMA/include -I$LLAMA/ggml/include -L$LLAMA/build/bin -lllama -o reference
//   ./reference MODEL.gguf PROMPT_FILE N_PREDICT OUT.f32
#include "llama.h"
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: reference MODEL.gguf PROMPT_FILE N_PREDICT OUT.f32\n");
        return 2;
    }
    FILE *pf = fopen(argv[2], "rb");
    if (!pf) { perror(argv[2]); return 1; }
    char text[1 << 16];
    size_t len = fread(text, 1, sizeof text - 1, pf);
    fclose(pf);
    text[len] = 0;
    int n_predict = atoi(argv[3]);

    llama_backend_init();
    struct llama_model *model = llama_model_load_from_file(argv[1], llama_model_default_params());
    if (!model) { fprintf(stderr, "cannot load %s\n", argv[1]); return 1; }
    const struct llama_vocab *vocab = llama_model_get_vocab(model);
    int n_vocab = llama_vocab_n_tokens(vocab);
    llama_token prompt[4096];
    int n_prompt = llama_tokenize(vocab, text, (int) len, prompt, 4096, true, true);
    if (n_prompt < 1) { fprintf(stderr, "tokenize failed\n"); return 1; }

    struct llama_context_params cp = llama_context_default_params();
    cp.n_ctx = n_prompt + n_predict;
    cp.n_batch = cp.n_ctx;
    cp.n_ubatch = cp.n_ctx;
    cp.type_k = GGML_TYPE_F32;
    cp.type_v = GGML_TYPE_F32;
    cp.flash_attn = false;
    cp.n_threads = 2;
    cp.n_threads_batch = 2;
    struct llama_context *ctx = llama_init_from_model(model, cp);
    if (!ctx) { fprintf(stderr, "no context\n"); return 1; }

    FILE *out = fopen(argv[4], "wb");
    if (!out) { perror(argv[4]); return 1; }
    struct llama_batch batch = llama_batch_init(n_prompt, 0, 1);
    for (int i = 0; i < n_prompt; i++) {
        batch.token[i] = prompt[i];
        batch.pos[i] = i;
        batch.n_seq_id[i] = 1;
        batch.seq_id[i][0] = 0;
        batch.logits[i] = 1;
    }
    batch.n_tokens = n_prompt;
    if (llama_decode(ctx, batch) != 0) { fprintf(stderr, "decode failed\n"); return 1; }
    for (int i = 0; i < n_prompt; i++) {
        fwrite(llama_get_logits_ith(ctx, i), sizeof(float), n_vocab, out);
    }
    llama_token gen[4096];
    float *row = llama_get_logits_ith(ctx, n_prompt - 1);
    for (int k = 0; k < n_predict; k++) {
        int best = 0;
        for (int t = 1; t < n_vocab; t++) {
            if (row[t] > row[best]) best = t;
        }
        gen[k] = best;
        if (k == n_predict - 1) break;
        batch.token[0] = best;
        batch.pos[0] = n_prompt + k;
        batch.n_seq_id[0] = 1;
        batch.seq_id[0][0] = 0;
        batch.logits[0] = 1;
        batch.n_tokens = 1;
        if (llama_decode(ctx, batch) != 0) { fprintf(stderr, "decode failed\n"); return 1; }
        row = llama_get_logits_ith(ctx, 0);
        fwrite(row, sizeof(float), n_vocab, out);
    }
    fclose(out);
    for (int i = 0; i < n_prompt; i++) printf(i ? " %d" : "%d", prompt[i]);
    printf("\n");
    for (int k = 0; k < n_predict; k++) printf(k ? " %d" : "%d", gen[k]);
    printf("\n");
    llama_batch_free(batch);
    llama_free(ctx);
    llama_model_free(model);
    return 0;
}
