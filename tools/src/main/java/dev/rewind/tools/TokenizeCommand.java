package dev.rewind.tools;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import dev.rewind.models.ModelLoader;
import dev.rewind.tokenizer.Tokenizer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code rewind tokenize}: the token ids of a text. */
@Command(name = "tokenize", mixinStandardHelpOptions = true,
        description = {"Print the token ids of a text as one JSON array.",
                "Works on vocabulary-only GGUF files. --no-bos --no-parse-special is the mode of llama.cpp's tokenizer test suites."})
final class TokenizeCommand implements Callable<Integer> {

    @Option(names = {"-m", "--model"}, paramLabel = "PATH", required = true, description = "GGUF file with a tokenizer, or a Hugging Face folder with tokenizer.json.")
    Path model;

    @Option(names = {"-p", "--prompt"}, paramLabel = "TEXT", required = true, description = "Text to tokenize.")
    String prompt;

    @Option(names = "--no-bos", description = "Add no BOS/EOS tokens (llama.cpp's add_special = false).")
    boolean noBos;

    @Option(names = "--no-parse-special", description = "Treat special-token text such as <s> as plain text.")
    boolean noParseSpecial;

    @Option(names = "--show-pieces", description = "Print [id, piece] pairs instead of bare ids.")
    boolean showPieces;

    private final PrintStream out;

    TokenizeCommand(PrintStream out) {
        this.out = out;
    }

    @Override
    public Integer call() throws Exception {
        Tokenizer tokenizer = ModelLoader.loadTokenizer(model);
        int[] ids = tokenizer.encode(prompt, !noBos, !noParseSpecial);
        ObjectMapper mapper = new ObjectMapper();
        ArrayNode array = mapper.createArrayNode();
        for (int id : ids) {
            if (showPieces) {
                array.addArray().add(id).add(readablePiece(tokenizer, id));
            } else {
                array.add(id);
            }
        }
        out.println(mapper.writeValueAsString(array));
        return 0;
    }

    /** The token's text when its bytes are valid UTF-8 on their own, else its vocabulary entry (e.g. {@code <0xE6>}). */
    private static String readablePiece(Tokenizer tokenizer, int id) {
        try {
            return StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(tokenizer.tokenBytes(id))).toString();
        } catch (CharacterCodingException e) {
            return tokenizer.piece(id);
        }
    }
}
