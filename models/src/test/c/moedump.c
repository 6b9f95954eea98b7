// Dumps llama.cpp's router logits (ffn_moe_logits-L) of every layer and token of a teacher-forced run.
// usage: moedump MODEL.gguf IDS.txt   (IDS.txt: token ids separated by spaces); prints "L t v0 v1 ..."
#include "llama.h"
#include "ggml.h"
#include "ggml-backend.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool cb(struct ggml_tensor * t, bool ask, void * ud) {
    (void) ud;
    bool want = strncmp(t->name, "ffn_moe_logits-", 15) == 0;
    if (ask) return want;
    if (!want) return true;
    int layer = atoi(t->name + 15);
    int64_t ne0 = t->ne[0], ne1 = t->ne[1];
    float * buf = malloc(ggml_nbytes(t));
    ggml_backend_tensor_get(t, buf, 0, ggml_nbytes(t));
    for (int64_t j = 0; j < ne1; j++) {
        printf("%d %lld", layer, (long long) j);
        for (int64_t i = 0; i < ne0; i++) printf(" %.9g", buf[j * (t->nb[1] / 4) + i]);
        printf("\n");
    }
    free(buf);
    return true;
}

int main(int argc, char ** argv) {
    FILE * f = fopen(argv[2], "r");
    int ids[4096]; int n = 0;
    while (n < 4096 && fscanf(f, "%d", &ids[n]) == 1) n++;
    fclose(f);
    llama_backend_init();
    struct llama_model_params mp = llama_model_default_params();
    struct llama_model * model = llama_model_load_from_file(argv[1], mp);
    struct llama_context_params cp = llama_context_default_params();
    cp.n_ctx = n + 8; cp.n_batch = n + 8; cp.n_ubatch = n + 8;
    cp.type_k = GGML_TYPE_F32; cp.type_v = GGML_TYPE_F32;
    cp.flash_attn = false; cp.n_threads = 2; cp.n_threads_batch = 2;
    cp.cb_eval = cb; cp.cb_eval_user_data = NULL;
    struct llama_context * ctx = llama_init_from_model(model, cp);
    struct llama_batch b = llama_batch_init(n, 0, 1);
    for (int i = 0; i < n; i++) { b.token[i] = ids[i]; b.pos[i] = i; b.n_seq_id[i] = 1; b.seq_id[i][0] = 0; b.logits[i] = 1; }
    b.n_tokens = n;
    if (llama_decode(ctx, b) != 0) { fprintf(stderr, "decode failed\n"); return 1; }
    llama_free(ctx); llama_model_free(model);
    return 0;
}
