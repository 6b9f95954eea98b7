package dev.rewind.tokenizer;

/**
 * GPT-2's pre-tokenizer regex
 * {@code 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+},
 * as a hand-written scanner with the same matches as llama.cpp's.
 */
final class Gpt2WordSplitter implements WordSplitter {

    @Override
    public IntList split(CodePoints text, IntList chunks) {
        IntList out = new IntList(chunks.size() * 4);
        int start = 0;
        for (int c = 0; c < chunks.size(); c++) {
            int end = start + chunks.get(c);
            scan(new ChunkCursor(text.values(), start, end, out), start, end);
            start = end;
        }
        return out;
    }

    private static void scan(ChunkCursor in, int start, int end) {
        int pos = start;
        while (pos < end) {
            int contraction = in.contractionAt(pos, false);
            if (contraction > 0) {
                pos = in.cut(pos + contraction);
                continue;
            }
            // An optional single space in front of a run of letters, numbers or other characters.
            int body = in.at(pos) == ' ' ? pos + 1 : pos;
            if (in.isLetter(body)) {
                pos = body;
                while (in.isLetter(pos)) {
                    pos++;
                }
                in.cut(pos);
                continue;
            }
            if (in.isNumber(body)) {
                pos = body;
                while (in.isNumber(pos)) {
                    pos++;
                }
                in.cut(pos);
                continue;
            }
            if (in.isOther(body)) {
                pos = body;
                while (in.isOther(pos)) {
                    pos++;
                }
                in.cut(pos);
                continue;
            }
            int spaces = 0;
            while (in.isWhitespace(pos + spaces)) {
                spaces++;
            }
            if (spaces > 1 && pos + spaces < end) {
                // \s+(?!\S): leave the last space to start the following word
                pos = in.cut(pos + spaces - 1);
            } else if (spaces > 0) {
                pos = in.cut(pos + spaces);
            } else {
                pos = in.cut(pos + 1);
            }
        }
    }
}
