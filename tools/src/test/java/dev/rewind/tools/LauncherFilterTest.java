package dev.rewind.tools;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Issue 9, D4: the launcher piped stderr through {@code grep -v}, which replaced a message holding a NUL
 * byte by "binary file matches". Its filter now drops only the JVM's exact first-line announcement and
 * passes every other byte through untouched.
 */
class LauncherFilterTest {

    private static final byte[] WARNING = "WARNING: Using incubator modules: jdk.incubator.vector\n".getBytes(StandardCharsets.US_ASCII);

    /** What {@code drop_incubator_warning} of tools/drop-incubator-warning.sh makes of {@code input}. */
    private static byte[] filter(byte[] input) throws IOException, InterruptedException {
        Path script = Path.of("drop-incubator-warning.sh").toAbsolutePath();
        assertTrue(Files.isRegularFile(script), "the launcher's filter at " + script);
        Process p = new ProcessBuilder("bash", "-c", "source \"$1\" && drop_incubator_warning", "filter", script.toString())
                .redirectErrorStream(false).start();
        try (OutputStream in = p.getOutputStream()) {
            in.write(input);
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (InputStream o = p.getInputStream()) {
            o.transferTo(out);
        }
        assertTrue(p.waitFor(10, TimeUnit.SECONDS), "the filter ends with its input");
        return out.toByteArray();
    }

    private static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] b : parts) {
            out.writeBytes(b);
        }
        return out.toByteArray();
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.ISO_8859_1);
    }

    @Test
    void aMessageHoldingANulByteArrivesWholeAfterTheWarning() throws Exception {
        byte[] message = bytes("generate: bad GGUF file: general.architecture = xx\0yy\n");
        assertArrayEquals(message, filter(concat(WARNING, message)));
        assertArrayEquals(message, filter(message), "without the warning too");
    }

    @Test
    void onlyTheExactFirstLineIsDropped() throws Exception {
        assertArrayEquals(new byte[0], filter(WARNING));
        assertArrayEquals(WARNING, filter(concat(WARNING, WARNING)), "a second announcement is not the JVM's: kept");
        byte[] almost = bytes("WARNING: Using incubator modules: jdk.incubator.vectorX\n");
        assertArrayEquals(almost, filter(almost));
        byte[] withNul = bytes("WARNING: Using incubator\0 modules: jdk.incubator.vector\n");
        assertArrayEquals(withNul, filter(withNul));
        byte[] cut = Arrays.copyOf(WARNING, 20);
        assertArrayEquals(cut, filter(cut), "input ending inside the prefix is given back");
        byte[] noNewline = Arrays.copyOf(WARNING, WARNING.length - 1);
        assertArrayEquals(noNewline, filter(noNewline));
        assertArrayEquals(new byte[0], filter(new byte[0]));
    }

    @Test
    void binaryProgressAndALastLineWithoutNewlinePassUntouched() throws Exception {
        byte[] tail = bytes("\u00ff\u00fe\rloading: 50%\rloading: done\nlast line, no newline");
        assertArrayEquals(tail, filter(concat(WARNING, tail)));
    }

    @Test
    void randomBytesComeOutAsTheyWentIn() throws Exception {
        Random random = new Random(9);
        for (int round = 0; round < 60; round++) {
            byte[] noise = new byte[random.nextInt(300)];
            random.nextBytes(noise);
            if (round % 3 == 0 && noise.length > 0) {
                noise[0] = 'W'; // a shared first byte, so the comparison runs a little before it differs
            }
            assertArrayEquals(noise, filter(noise), "round " + round);
            assertArrayEquals(noise, filter(concat(WARNING, noise)), "round " + round + " after the warning");
        }
    }
}
