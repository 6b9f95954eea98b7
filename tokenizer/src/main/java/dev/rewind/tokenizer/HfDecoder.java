package dev.rewind.tokenizer;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The {@code decoder} of a {@code tokenizer.json}: turns the token texts of a sequence back into text. As in
 * the Hugging Face library each step maps a list of pieces to a list of pieces, and the result is their
 * concatenation. Pieces are kept as bytes so that a step can produce part of a character ({@code <0xE2>} from
 * ByteFallback, one byte-level token of a multi-byte character): whole sequences are decoded at the end, with
 * invalid UTF-8 as U+FFFD, and one token alone gives exactly its bytes ({@link #tokenBytes}), which is what
 * streaming needs.
 */
sealed interface HfDecoder {

    /**
     * A piece being decoded.
     *
     * @param bytes    its bytes (UTF-8 unless a step made part of a character)
     * @param verbatim an added token's text, which the byte-level step leaves as it is (as transformers.js does)
     */
    record Chunk(byte[] bytes, boolean verbatim) {

        static Chunk of(String text, boolean verbatim) {
            return new Chunk(text.getBytes(StandardCharsets.UTF_8), verbatim);
        }

        String text() {
            return new String(bytes, StandardCharsets.UTF_8);
        }
    }

    /**
     * This step applied to {@code chunks}.
     *
     * @param whole true when decoding a whole sequence; false for one token in the middle of a stream, where
     *              steps that act on the start of the text (Metaspace's first token) act as on any later token,
     *              and byte tokens stay single bytes
     */
    List<Chunk> decode(List<Chunk> chunks, boolean whole);

    /** GPT-2's byte characters back to bytes; a piece with other characters keeps its UTF-8 (the Rust rule). */
    record ByteLevel() implements HfDecoder {
        @Override
        public List<Chunk> decode(List<Chunk> chunks, boolean whole) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            for (Chunk chunk : chunks) {
                out.writeBytes(chunk.verbatim() ? chunk.bytes() : bytesOf(chunk));
            }
            return List.of(new Chunk(out.toByteArray(), false));
        }

        private static byte[] bytesOf(Chunk chunk) {
            String text = chunk.text();
            byte[] out = new byte[text.length()];
            int n = 0;
            for (int i = 0; i < text.length(); i++) {
                int b = ByteUnicode.decode(text.charAt(i));
                if (b < 0) {
                    return chunk.bytes();
                }
                out[n++] = (byte) b;
            }
            return Arrays.copyOf(out, n);
        }
    }

    /**
     * SentencePiece spaces back to spaces. In the first piece of a sequence the replacement character is dropped
     * instead, unless the scheme is {@code never} (the Rust library's rule, which drops all of them there).
     */
    record Metaspace(String replacement, boolean dropInFirst) implements HfDecoder {
        @Override
        public List<Chunk> decode(List<Chunk> chunks, boolean whole) {
            List<Chunk> out = new ArrayList<>(chunks.size());
            for (int i = 0; i < chunks.size(); i++) {
                String replaced = chunks.get(i).text().replace(replacement, whole && i == 0 && dropInFirst ? "" : " ");
                out.add(Chunk.of(replaced, chunks.get(i).verbatim()));
            }
            return out;
        }
    }

    /** Every match of {@code pattern} in each piece replaced by {@code content}. */
    record Replace(HfPattern pattern, String content) implements HfDecoder {
        @Override
        public List<Chunk> decode(List<Chunk> chunks, boolean whole) {
            List<Chunk> out = new ArrayList<>(chunks.size());
            for (Chunk chunk : chunks) {
                out.add(pattern.literal()
                        ? new Chunk(replaceBytes(chunk.bytes(), Utf8.bytes(pattern.source()), Utf8.bytes(content)),
                                chunk.verbatim())
                        : Chunk.of(pattern.replaceAll(chunk.text(), content), chunk.verbatim()));
            }
            return out;
        }

        private static byte[] replaceBytes(byte[] in, byte[] what, byte[] with) {
            if (what.length == 0) {
                return in;
            }
            ByteArrayOutputStream out = new ByteArrayOutputStream(in.length);
            int i = 0;
            while (i < in.length) {
                if (i + what.length <= in.length && Arrays.equals(in, i, i + what.length, what, 0, what.length)) {
                    out.writeBytes(with);
                    i += what.length;
                } else {
                    out.write(in[i++]);
                }
            }
            return out.toByteArray();
        }
    }

    /**
     * Byte tokens {@code <0xNN>} to their bytes; in a whole sequence each run of them becomes its text, with
     * invalid UTF-8 as U+FFFD (as transformers.js decodes it).
     */
    record ByteFallback() implements HfDecoder {
        @Override
        public List<Chunk> decode(List<Chunk> chunks, boolean whole) {
            List<Chunk> out = new ArrayList<>(chunks.size());
            ByteArrayOutputStream run = new ByteArrayOutputStream();
            for (Chunk chunk : chunks) {
                int b = byteOf(chunk);
                if (b >= 0) {
                    run.write(b);
                    continue;
                }
                flush(run, out, whole);
                out.add(chunk);
            }
            flush(run, out, whole);
            return out;
        }

        private static void flush(ByteArrayOutputStream run, List<Chunk> out, boolean whole) {
            if (run.size() > 0) {
                byte[] bytes = run.toByteArray();
                out.add(whole ? Chunk.of(new String(bytes, StandardCharsets.UTF_8), false) : new Chunk(bytes, false));
                run.reset();
            }
        }

        /** The byte of a piece {@code <0xNN>}, or -1. */
        private static int byteOf(Chunk chunk) {
            byte[] b = chunk.bytes();
            if (b.length != 6 || b[0] != '<' || b[1] != '0' || b[2] != 'x' || b[5] != '>') {
                return -1;
            }
            int hi = Character.digit(b[3], 16);
            int lo = Character.digit(b[4], 16);
            return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
        }
    }

    /** All pieces joined into one. */
    record Fuse() implements HfDecoder {
        @Override
        public List<Chunk> decode(List<Chunk> chunks, boolean whole) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            for (Chunk chunk : chunks) {
                out.writeBytes(chunk.bytes());
            }
            return List.of(new Chunk(out.toByteArray(), false));
        }
    }

    /** Up to {@code start} leading and {@code stop} trailing copies of {@code content} removed from each piece. */
    record Strip(String content, int start, int stop) implements HfDecoder {
        @Override
        public List<Chunk> decode(List<Chunk> chunks, boolean whole) {
            byte[] c = Utf8.bytes(content);
            List<Chunk> out = new ArrayList<>(chunks.size());
            for (Chunk chunk : chunks) {
                byte[] b = chunk.bytes();
                int from = 0;
                for (int i = 0; i < start && startsWith(b, from, c); i++) {
                    from += c.length;
                }
                int to = b.length;
                for (int i = 0; i < stop && to - c.length >= from && startsWith(b, to - c.length, c); i++) {
                    to -= c.length;
                }
                out.add(new Chunk(Arrays.copyOfRange(b, from, to), chunk.verbatim()));
            }
            return out;
        }

        private static boolean startsWith(byte[] b, int at, byte[] c) {
            return at + c.length <= b.length && Arrays.equals(b, at, at + c.length, c, 0, c.length);
        }
    }

    /**
     * Several decoders, one after the other. For one token of a stream, a Strip that follows a Fuse is left
     * out: it acts on the ends of the whole text, which a single token is not.
     */
    record Sequence(List<HfDecoder> steps) implements HfDecoder {
        @Override
        public List<Chunk> decode(List<Chunk> chunks, boolean whole) {
            List<Chunk> out = chunks;
            boolean fused = false;
            for (HfDecoder step : steps) {
                if (!whole && fused && step instanceof Strip) {
                    continue;
                }
                fused |= step instanceof Fuse;
                out = step.decode(out, whole);
            }
            return out;
        }
    }

    /** The bytes one token stands for in the middle of a text: its piece through the steps, one token alone. */
    static byte[] tokenBytes(HfDecoder decoder, String piece, boolean verbatim) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (Chunk chunk : decoder.decode(List.of(Chunk.of(piece, verbatim)), false)) {
            out.writeBytes(chunk.bytes());
        }
        return out.toByteArray();
    }

    /** Whether decoding drops a space at the very start of the text (Strip after Fuse, or Metaspace). */
    static boolean stripsLeadingSpace(HfDecoder decoder) {
        return switch (decoder) {
            case Metaspace m -> m.dropInFirst();
            case Sequence s -> {
                boolean fused = false;
                for (HfDecoder step : s.steps()) {
                    fused |= step instanceof Fuse;
                    if (stripsLeadingSpace(step) || (fused && step instanceof Strip strip && strip.content().equals(" ")
                            && strip.start() > 0)) {
                        yield true;
                    }
                }
                yield false;
            }
            default -> false;
        };
    }

    /**
     * The decoder described at {@code at}.
     *
     * @throws TokenizerException naming the path for an unknown or malformed decoder
     */
    static HfDecoder read(JsonCursor at) {
        String type = at.get("type").string();
        return switch (type) {
            case "ByteLevel" -> new ByteLevel();
            case "Metaspace" -> {
                HfPreTokenizer.Metaspace m = HfPreTokenizer.metaspace(at);
                yield new Metaspace(m.replacement(), m.scheme() != HfPreTokenizer.Metaspace.PrependScheme.NEVER);
            }
            case "Replace" -> new Replace(HfPattern.read(at.get("pattern")), at.get("content").string());
            case "ByteFallback" -> new ByteFallback();
            case "Fuse" -> new Fuse();
            case "Strip" -> {
                JsonCursor content = at.get("content");
                if (content.string().codePointCount(0, content.string().length()) != 1) {
                    throw content.error("expected one character, found '" + content.string() + "'");
                }
                yield new Strip(content.string(), at.get("start").integer(0, Integer.MAX_VALUE),
                        at.get("stop").integer(0, Integer.MAX_VALUE));
            }
            case "Sequence" -> new Sequence(at.get("decoders").elements().stream().map(HfDecoder::read).toList());
            default -> throw at.get("type").error("unsupported decoder '" + type
                    + "' (supported: ByteLevel, Metaspace, Replace, ByteFallback, Fuse, Strip, Sequence)");
        };
    }
}
