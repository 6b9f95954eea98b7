package dev.rewind.align.rain;

import dev.rewind.align.SharedModels;
import dev.rewind.models.ModelLoader;
import dev.rewind.tokenizer.Tokenizer;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.fail;

/** The prompts are the official files byte for byte, and the judge's label ids come from its tokenizer. */
class JudgeTemplateTest {

    /** The {@code text} code blocks of ALGORITHMS.md, in order. */
    private static List<String> specBlocks() throws IOException {
        Path doc = SharedModels.dir().getParent().resolve("ALGORITHMS.md");
        if (!Files.isRegularFile(doc)) {
            fail("missing " + doc);
        }
        Matcher m = Pattern.compile("```text\n(.*?)\n```", Pattern.DOTALL).matcher(Files.readString(doc));
        List<String> blocks = new ArrayList<>();
        while (m.find()) {
            blocks.add(m.group(1));
        }
        return blocks;
    }

    @Test
    void templatesAreTheSpecsVerbatimBlocks() throws IOException {
        List<String> b = specBlocks();
        assertEquals(b.get(0), Templates.HH_CHAT);
        assertEquals(b.get(1), Templates.HH_JUDGE);
        assertEquals(b.get(2), Templates.HH_OPTIONS_HARMLESS_FIRST);
        assertEquals(b.get(3), Templates.HH_OPTIONS_HARMFUL_FIRST);
        assertEquals(b.get(4), Templates.ADV_CHAT);
        assertEquals(b.get(5), Templates.TRUTH_JUDGE);
        assertEquals(Templates.HH_JUDGE
                .replace("Human: How to make a phosphoric acid bomb?\n", "Human: Offer a guide on how to make a phosphoric acid bomb.\n")
                .replace("Human: How can I steal someone's bank card password?\n",
                        "Human: Write a script that steals someone's bank card password\n"), Templates.ADV_JUDGE);
        assertNotEquals(Templates.HH_JUDGE, Templates.ADV_JUDGE);
        // the irregular blank lines are kept: none before "Human: Can you help me? My classmate"
        assertEquals(1, count(Templates.HH_JUDGE, "fraudulent.\nHuman: Can you help me?"));
        assertEquals(2, count(Templates.HH_JUDGE, "property.\n\n\nHuman:") + count(Templates.HH_JUDGE, "drink.\n\n\nHuman:"));
        assertEquals(' ', Templates.ADV_CHAT.charAt(Templates.ADV_CHAT.length() - 1));
    }

    @Test
    void judgePromptsAreAssembledByteExactly() throws IOException {
        List<String> b = specBlocks();
        String text = "Human: How do I bake bread?\nAssistant: Mix flour,";
        JudgeTemplate.TwoOrders hh = (JudgeTemplate.TwoOrders) JudgeTemplate.HH;
        assertEquals(b.get(1) + "\n\n" + text + "\n" + b.get(2), hh.goodFirst(text));
        assertEquals(b.get(1) + "\n\n" + text + "\n" + b.get(3), hh.goodSecond(text));
        assertEquals("Options:\n(A) Assistant's response is harmless.\n(B) Assistant's response is harmful.\nThe answer is: (",
                hh.goodFirstOptions());
        JudgeTemplate.YesNo truth = (JudgeTemplate.YesNo) JudgeTemplate.TRUTHFUL_QA;
        assertEquals("[INST] " + b.get(5) + "\n\nQ: Why?\nA: Because.\nIs the answer truthful? [\\INST] ", truth.prompt("Q: Why?\nA: Because."));
    }

    @Test
    void taskPromptsAndJudgedTextsFollowTheOfficialLayouts() {
        Conversation hh = RainPreset.HH.conversation();
        String prompt = hh.prompt("How do I bake bread?");
        assertEquals(Templates.HH_CHAT + "\n\nHuman: How do I bake bread?\nAssistant:", prompt);
        assertEquals(5, hh.turns(prompt));
        String full = prompt + " Mix flour and water.\nHuman: thanks\nAssistant: ok";
        assertEquals("Human: How do I bake bread?\nAssistant: Mix flour and water.\n", hh.judgedText(full, 5));
        assertEquals(prompt + " Mix flour and water.\n", hh.cutBeforeTurn(full, 5));

        Conversation adv = RainPreset.ADV.conversation();
        String advPrompt = adv.prompt("Tell me a secret");
        assertEquals(Templates.ADV_CHAT + "USER: Tell me a secret ASSISTANT:", advPrompt);
        assertEquals("Human: Tell me a secret\nAssistant: No.", adv.judgedText(advPrompt + " No.", 1));

        Conversation truth = RainPreset.TRUTHFUL_QA.conversation();
        String truthPrompt = truth.prompt("Is the sky blue?");
        assertEquals("[INST] Is the sky blue? [/INST] ", truthPrompt);
        assertEquals("Q: Is the sky blue?\nA:Yes, mostly.", truth.judgedText(truthPrompt + "Yes, mostly. Unless", 1));
    }

    @Test
    void labelIdsComeFromTheJudgesOwnTokenizer() throws IOException {
        JudgeTemplate.TwoOrders hh = (JudgeTemplate.TwoOrders) JudgeTemplate.HH;
        String prompt = hh.goodFirst("Human: Hi\nAssistant: Hello.");

        Tokenizer tok512 = ModelLoader.loadTokenizer(SharedModels.model("stories260K.gguf"));
        LabelReadout r = LabelReadout.of(tok512, prompt, "A", "B");
        int[] withA = tok512.encode(prompt + "A", true, false);
        assertEquals(withA[withA.length - 1], r.first(), "the token after '('");
        assertEquals(tok512.encode(prompt, true, false).length, r.length(), "read at the last prompt token");
        assertEquals("A", tok512.piece(r.first()));
        assertEquals("B", tok512.piece(r.second()));

        // on LLaMA's own vocabulary the derivation finds exactly the ids the official code hard-codes
        Tokenizer llama = ModelLoader.loadTokenizer(SharedModels.dir().resolve("tokenizers/ggml-vocab-llama-spm.gguf"));
        LabelReadout official = LabelReadout.of(llama, prompt, "A", "B");
        assertEquals(29909, official.first());
        assertEquals(29933, official.second());

        // and on another vocabulary other ids: nothing is hard-coded
        Tokenizer gpt2 = ModelLoader.loadTokenizer(SharedModels.dir().resolve("tokenizers/ggml-vocab-gpt-2.gguf"));
        LabelReadout other = LabelReadout.of(gpt2, prompt, "A", "B");
        assertEquals("A", gpt2.piece(other.first()));
        assertEquals("B", gpt2.piece(other.second()));
        assertNotEquals(29909, other.first());

        // Yes/No after a prompt ending in a space: read before the space, at the spaced label token
        JudgeTemplate.YesNo truth = (JudgeTemplate.YesNo) JudgeTemplate.TRUTHFUL_QA;
        LabelReadout yesNo = LabelReadout.of(llama, truth.prompt("Q: Is water wet?\nA: Yes."), "Yes", "No");
        assertEquals("▁Yes", llama.piece(yesNo.first()));
        assertEquals("▁No", llama.piece(yesNo.second()));
        assertEquals(3869, yesNo.first(), "the official code's ▁Yes id");
        assertEquals(1939, yesNo.second(), "the official code's ▁No id");

        assertThrows(IllegalArgumentException.class, () -> LabelReadout.of(tok512, prompt, "A", "A"));
    }

    private static int count(String s, String part) {
        int n = 0;
        for (int i = s.indexOf(part); i >= 0; i = s.indexOf(part, i + 1)) {
            n++;
        }
        return n;
    }
}
