package dev.rewind.align.batch;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Batch inputs are read line by line as bytes; a bad line is one item with an error naming it, and ids cannot collide. */
class BatchInputTest {

    @TempDir
    Path dir;

    private Path file(byte[] bytes) throws IOException {
        Path f = dir.resolve("in-" + System.nanoTime() + ".jsonl");
        Files.write(f, bytes);
        return f;
    }

    private Path file(String text) throws IOException {
        return file(text.getBytes(StandardCharsets.UTF_8));
    }

    private static List<BatchItem> read(Path f, int maxLineBytes) throws IOException {
        List<BatchItem> items = new ArrayList<>();
        try (BatchInput in = BatchInput.open(f, maxLineBytes)) {
            for (BatchItem item = in.next(); item != null; item = in.next()) {
                items.add(item);
            }
            assertEquals(in.items(), items.size(), "the count of the first pass is the items read");
        }
        return items;
    }

    private static List<BatchItem> read(Path f) throws IOException {
        return read(f, BatchInput.DEFAULT_MAX_LINE_BYTES);
    }

    private static String problem(BatchItem item) {
        return assertInstanceOf(BatchItem.Bad.class, item).problem();
    }

    @Test
    void d5ANonUtf8LineIsAnErrorNamingItsLineAndOffsetAndTheOthersAreRead() throws IOException {
        // the reproducer: \xff\xfe inside line 2 of 3
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        bytes.writeBytes("{\"id\": \"a\", \"question\": \"one\"}\n".getBytes(StandardCharsets.UTF_8)); // 31 bytes
        bytes.writeBytes("{\"id\": \"b\", \"question\": \"t".getBytes(StandardCharsets.UTF_8));
        bytes.write(0xff);
        bytes.write(0xfe);
        bytes.writeBytes("wo\"}\n{\"id\": \"c\", \"question\": \"three\"}\n".getBytes(StandardCharsets.UTF_8));
        List<BatchItem> items = read(file(bytes.toByteArray()));
        assertEquals(3, items.size());
        assertEquals("a", assertInstanceOf(BatchItem.Ok.class, items.get(0)).id().asText());
        assertEquals("line 2 is not valid UTF-8: byte 0xFF at byte offset 57 of the file", problem(items.get(1)));
        assertEquals("line:2", items.get(1).id().asText());
        assertEquals("c", assertInstanceOf(BatchItem.Ok.class, items.get(2)).id().asText());
    }

    @Test
    void d6ALineWithoutIdNeverCollidesWithAnExplicitId() throws IOException {
        // the reproducer: the second item used to be skipped as a repeat of the first's line number
        List<BatchItem> items = read(file("{\"question\":\"first\",\"answer\":\"a\"}\n{\"id\":1,\"question\":\"second\",\"answer\":\"b\"}\n"));
        assertEquals("\"line:1\"", BatchIds.key(assertInstanceOf(BatchItem.Ok.class, items.get(0)).id()));
        assertEquals("1", BatchIds.key(assertInstanceOf(BatchItem.Ok.class, items.get(1)).id()));
        // "id": null is the same as no id, and an explicit id cannot take the reserved form
        List<BatchItem> more = read(file("{\"id\": null, \"x\": 1}\n{\"id\": \"line:1\"}\n{\"id\": \"line:3\"}\n"));
        assertEquals("line:1", assertInstanceOf(BatchItem.Ok.class, more.get(0)).id().asText());
        assertTrue(problem(more.get(1)).contains("is reserved"), problem(more.get(1)));
        assertEquals("line:2", more.get(1).id().asText());
        assertEquals("line:3", more.get(2).id().asText(), "its own line id, which no other line can have");
    }

    @Test
    void aRepeatedIdIsAnErrorUnderTheLaterLinesId() throws IOException {
        List<BatchItem> items = read(file("{\"id\": 7}\n{\"id\": \"7\"}\n{\"id\": 7}\n"));
        assertInstanceOf(BatchItem.Ok.class, items.get(0));
        assertInstanceOf(BatchItem.Ok.class, items.get(1), "7 and \"7\" are two ids");
        assertEquals("line 3 repeats the id 7 of line 1", problem(items.get(2)));
        assertEquals("line:3", items.get(2).id().asText());
    }

    @Test
    void idsOfOtherTypesAreRefused() throws IOException {
        List<BatchItem> items = read(file("{\"id\": 1.5}\n{\"id\": true}\n{\"id\": [1]}\n{\"id\": {\"a\": 1}}\n{\"id\": 123456789012345678901234567890}\n"));
        for (int i = 0; i < 4; i++) {
            assertTrue(problem(items.get(i)).contains("\"id\" must be a string or an integer"), problem(items.get(i)));
        }
        assertInstanceOf(BatchItem.Ok.class, items.get(4), "a big integer is an integer");
    }

    @Test
    void badJsonTrailingDataDuplicateKeysAndDeepNestingAreErrorsOfTheirLine() throws IOException {
        List<BatchItem> items = read(file("""
                not json
                {"id": 1} {"id": 2}
                {"id": 3, "id": 4}
                [1, 2]
                "just a string"
                """ + "[".repeat(5000) + "\n{\"id\": 9}\n"));
        assertTrue(problem(items.get(0)).startsWith("line 1 is not JSON"), problem(items.get(0)));
        assertTrue(problem(items.get(1)).startsWith("line 2 is not JSON"), problem(items.get(1)));
        assertTrue(problem(items.get(2)).startsWith("line 3 is not JSON") && problem(items.get(2)).contains("id"), problem(items.get(2)));
        assertEquals("line 4 is not a JSON object", problem(items.get(3)));
        assertEquals("line 5 is not a JSON object", problem(items.get(4)));
        assertTrue(problem(items.get(5)).startsWith("line 6 is not JSON"), problem(items.get(5)));
        assertEquals(9, assertInstanceOf(BatchItem.Ok.class, items.get(6)).id().asInt());
    }

    @Test
    void aLineLongerThanTheLimitIsAnErrorAndTheNextLineIsRead() throws IOException {
        String longLine = "{\"id\": \"big\", \"prompt\": \"" + "x".repeat(5000) + "\"}";
        List<BatchItem> items = read(file(longLine + "\n{\"id\": \"small\"}\n"), 1000);
        assertEquals("line 1 is " + longLine.length() + " bytes long, more than the 1000 a batch line may have", problem(items.get(0)));
        assertEquals("small", assertInstanceOf(BatchItem.Ok.class, items.get(1)).id().asText());
    }

    @Test
    void blankLinesCrlfABomAndAMissingLastNewlineAreFine() throws IOException {
        byte[] bom = {(byte) 0xEF, (byte) 0xBB, (byte) 0xBF};
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.writeBytes(bom);
        b.writeBytes("{\"id\": \"a\"}\r\n\r\n   \n{\"id\": \"b\"}".getBytes(StandardCharsets.UTF_8));
        List<BatchItem> items = read(file(b.toByteArray()));
        assertEquals(List.of("a", "b"), items.stream().map(i -> assertInstanceOf(BatchItem.Ok.class, i).id().asText()).toList());
        assertEquals(4, items.get(1).line(), "line numbers count blank lines");
    }

    @Test
    void controlCharactersInAProblemAreEscaped() throws IOException {
        List<BatchItem> items = read(file("{\"id\": \"line:\\u001b[2J\"}\n"));
        String p = problem(items.get(0));
        assertTrue(!p.contains("\u001b") && dev.rewind.engine.text.Escape.isVisible(p), p);
    }

    @Test
    void aDirectoryIsRefusedNamingIt() {
        IOException e = assertThrows(IOException.class, () -> BatchInput.open(dir));
        assertTrue(e.getMessage().contains(dir.toString()), e.getMessage());
    }

    @Test
    void everyItemOfARandomMixHasItsOwnId() throws IOException {
        java.util.Random random = new java.util.Random(3);
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 500; i++) {
            switch (random.nextInt(5)) {
                case 0 -> sb.append("{\"q\": 1}");
                case 1 -> sb.append("{\"id\": ").append(random.nextInt(50)).append('}');
                case 2 -> sb.append("{\"id\": \"").append(random.nextInt(50)).append("\"}");
                case 3 -> sb.append("{\"id\": \"line:").append(random.nextInt(500)).append("\"}");
                default -> sb.append("garbage ").append(i);
            }
            sb.append('\n');
        }
        List<BatchItem> items = read(file(sb.toString()));
        assertEquals(500, items.size());
        java.util.Set<String> keys = new java.util.HashSet<>();
        for (BatchItem item : items) {
            JsonNode id = item.id();
            assertTrue(keys.add(BatchIds.key(id)), "id " + id + " given twice");
        }
    }
}
