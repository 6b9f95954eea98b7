package dev.rewind.tokenizer;

/**
 * Llama 3's pre-tokenizer regex
 * {@code (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+},
 * as a hand-written scanner with the same matches as llama.cpp's.
 */
final class Llama3WordSplitter implements WordSplitter {

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
            int cp = in.at(pos);
            int contraction = in.contractionAt(pos, true);
            if (contraction > 0) {
                pos = in.cut(pos + contraction);
                continue;
            }
            // [^\r\n\p{L}\p{N}]?\p{L}+
            if (!(cp == '\r' || cp == '\n' || in.isNumber(pos)) && (in.isLetter(pos) || in.isLetter(pos + 1))) {
                pos++;
                while (in.isLetter(pos)) {
                    pos++;
                }
                in.cut(pos);
                continue;
            }
            // \p{N}{1,3}
            if (in.isNumber(pos)) {
                int group = pos;
                while (in.isNumber(pos)) {
                    pos++;
                    if (pos - group >= 3) {
                        group = in.cut(pos);
                    }
                }
                in.cut(pos);
                continue;
            }
            // " ?[^\s\p{L}\p{N}]+[\r\n]*". A lone space at the end of the chunk is a word of its own here;
            // the regex gives the same word through \s+.
            int body = cp == ' ' ? pos + 1 : pos;
            if (in.isOther(body) || !in.inChunk(body)) {
                pos = body;
                while (in.isOther(pos)) {
                    pos++;
                }
                while (in.at(pos) == '\r' || in.at(pos) == '\n') {
                    pos++;
                }
                in.cut(pos);
                continue;
            }
            int spaces = 0;
            int afterLastNewline = -1;
            while (in.isWhitespace(pos + spaces)) {
                int c = in.at(pos + spaces);
                if (c == '\r' || c == '\n') {
                    afterLastNewline = pos + spaces + 1;
                }
                spaces++;
            }
            if (afterLastNewline > 0) {
                // \s*[\r\n]+
                pos = in.cut(afterLastNewline);
            } else if (spaces > 1 && pos + spaces < end) {
                // \s+(?!\S)
                pos = in.cut(pos + spaces - 1);
            } else if (spaces > 0) {
                pos = in.cut(pos + spaces);
            } else {
                pos = in.cut(pos + 1);
            }
        }
    }
}
