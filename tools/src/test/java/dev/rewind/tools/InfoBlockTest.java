package dev.rewind.tools;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code rewind info --tensor NAME --block N}: the bytes it prints are the file's, and the weights it prints are
 * what ggml's Q4_0 layout says those bytes mean, decoded here by hand (a half-precision scale d, then 16 bytes whose
 * low nibbles are weights 0–15 and high nibbles weights 16–31, each (nibble − 8) · d).
 */
class InfoBlockTest {

    private static final Pattern OFFSETS = Pattern.compile("bytes (\\d+) to (\\d+) of the file");

    @Test
    void aQ4_0BlockDecodesAsItsLayoutSays() throws IOException {
        Path model = CliTest.shared().resolve("tiny-llama-Q4_0.gguf");
        int block = 37; // row 4, columns 160 to 191 of a 256-column matrix
        CliTest.Run r = CliTest.run("info", model.toString(), "--tensor", "blk.1.ffn_gate.weight", "--block", "" + block);
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("block 37 = row 4, columns 160 to 191"), r.out());
        Matcher m = OFFSETS.matcher(r.out());
        assertTrue(m.find(), r.out());
        long first = Long.parseLong(m.group(1));
        assertEquals(first + 17, Long.parseLong(m.group(2)));

        byte[] bytes = new byte[18];
        try (RandomAccessFile f = new RandomAccessFile(model.toFile(), "r")) {
            f.seek(first);
            f.readFully(bytes);
        }
        StringBuilder hex = new StringBuilder();
        for (byte b : bytes) {
            hex.append(String.format(" %02x", b & 0xff));
        }
        String printedHex = r.out().lines().filter(l -> l.matches("\\s+\\d+ ( [0-9a-f]{2})+")).map(l -> l.replaceFirst("^\\s+\\d+ ", ""))
                .reduce("", String::concat);
        assertEquals(hex.toString(), printedHex);

        float d = Float.float16ToFloat((short) ((bytes[0] & 0xff) | (bytes[1] & 0xff) << 8));
        float[] expected = new float[32];
        for (int j = 0; j < 16; j++) {
            expected[j] = ((bytes[2 + j] & 0x0f) - 8) * d;
            expected[j + 16] = (((bytes[2 + j] >> 4) & 0x0f) - 8) * d;
        }
        List<Float> printed = new ArrayList<>();
        boolean inWeights = false;
        for (String line : r.out().lines().toList()) {
            if (line.equals("weights:")) {
                inWeights = true;
            } else if (inWeights) {
                String[] fields = line.trim().split("\\s+");
                for (int i = 1; i < fields.length; i++) {
                    printed.add(Float.parseFloat(fields[i]));
                }
            }
        }
        assertEquals(32, printed.size(), r.out());
        for (int j = 0; j < 32; j++) {
            assertEquals(expected[j], printed.get(j), 5e-8, "weight " + j);
        }
    }

    @Test
    void aBlockOutsideTheTensorIsOneLine() {
        Path model = CliTest.shared().resolve("tiny-llama-Q4_0.gguf");
        CliTest.assertOneLineError(CliTest.run("info", model.toString(), "--tensor", "blk.0.attn_k.weight", "--block", "512"),
                "--block 512 is outside tensor blk.0.attn_k.weight (blocks 0 to 511)");
        CliTest.assertOneLineError(CliTest.run("info", model.toString(), "--tensor", "blk.9.attn_k.weight"),
                "has no tensor named 'blk.9.attn_k.weight'");
        CliTest.assertOneLineError(CliTest.run("info", model.toString(), "--block", "1"), "--block needs --tensor");
    }
}
