package dev.rewind.tokenizer.chat;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Failures name their place in the template as its author wrote it, in one line; and a hostile
 * template (deep, endless, or producing endless text) is stopped by a limit, quickly, with a
 * {@link TemplateException} rather than a stack overflow or an exhausted heap.
 */
class LimitsAndErrorsTest {

    private static TemplateException failure(String template) {
        return failure(template, RenderOptions.DEFAULT);
    }

    private static TemplateException failure(String template, RenderOptions options) {
        return assertThrows(TemplateException.class, () -> ChatTemplate.parse(template).renderVariables(Map.of(), options));
    }

    @Test
    void syntaxErrorsPointAtTheOriginalSourceEvenAfterWhitespaceIsStripped() {
        // lstrip_blocks removes the four spaces before {% and trim_blocks the newline after %}: the
        // column must still be the one in the file.
        TemplateException e = failure("line one\n    {% if true %}\n    {% if %}x{% endif %}{% endif %}");
        assertEquals(TemplateException.Kind.SYNTAX, e.kind());
        assertEquals(3, e.line());
        assertEquals(11, e.column(), e.getMessage());
        assertEquals("chat template syntax error at line 3, column 11: expected a value, found '%}'", e.getMessage());
    }

    @Test
    void renderErrorsPointAtTheFailingExpression() {
        TemplateException e = failure("{% for m in [1] %}\n  {{ m ~ none }}\n{% endfor %}");
        assertEquals(TemplateException.Kind.RENDER, e.kind());
        assertEquals(2, e.line());
        assertEquals(8, e.column(), e.getMessage());
        assertEquals("cannot apply '~' to integer and none", e.reason());
    }

    @Test
    void aRaisedMessageIsKeptExactlyAndTheExceptionMessageIsOneLine() {
        TemplateException e = failure("{{ raise_exception('first line\\nsecond line') }}");
        assertEquals(TemplateException.Kind.RAISED, e.kind());
        assertEquals("first line\nsecond line", e.reason());
        assertEquals("chat template raised an exception at line 1, column 19: first line\\nsecond line", e.getMessage());
    }

    @Test
    void aMissingEndTagNamesTheTagItCloses() {
        TemplateException e = failure("{% for x in xs %}\n{% if x %}\n{{ x }}\n{% endfor %}");
        assertEquals(TemplateException.Kind.SYNTAX, e.kind());
        assertEquals("chat template syntax error at line 4, column 4: expected {% elif %} or {% else %} or {% endif %}"
                + " for the tag at line 2, column 1, found {% endfor %}", e.getMessage());
        assertEquals("{% endfor %} without a block it belongs to", failure("x{% endfor %}").reason());
    }

    @Test
    void breakOutsideALoopIsASyntaxError() {
        assertEquals(TemplateException.Kind.SYNTAX, failure("{% break %}").kind());
        assertEquals(TemplateException.Kind.SYNTAX,
                failure("{% for x in [1] %}{% macro m() %}{% continue %}{% endmacro %}{% endfor %}").kind());
    }

    @Test
    void deeplyNestedExpressionsAreRefusedWhenParsed() {
        String deep = "{{ " + "(".repeat(5000) + "1" + ")".repeat(5000) + " }}";
        TemplateException e = assertThrows(TemplateException.class, () -> ChatTemplate.parse(deep));
        assertEquals(TemplateException.Kind.SYNTAX, e.kind());
        assertTrue(e.reason().contains("nest more than " + Parser.MAX_NESTING), e.getMessage());
        String deepIfs = "{% if true %}".repeat(5000) + "x" + "{% endif %}".repeat(5000);
        assertTrue(assertThrows(TemplateException.class, () -> ChatTemplate.parse(deepIfs)).reason().contains("nest more than"));
        String manyNots = "{{ " + "not ".repeat(5000) + "x }}";
        assertTrue(assertThrows(TemplateException.class, () -> ChatTemplate.parse(manyNots)).reason().contains("nest more than"));
    }

    @Test
    void aLongElifChainIsNotNesting() {
        StringBuilder t = new StringBuilder("{% if x == 0 %}0");
        for (int i = 1; i < 2000; i++) {
            t.append("{% elif x == ").append(i).append(" %}").append(i);
        }
        t.append("{% endif %}");
        assertEquals("1999", ChatTemplate.parse(t.toString()).renderVariables(Map.of("x", 1999), RenderOptions.DEFAULT));
    }

    @Test
    void endlessRecursionStopsAtTheDepthLimit() {
        TemplateException e = failure("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}");
        assertEquals(TemplateException.Kind.LIMIT, e.kind());
        assertTrue(e.reason().contains("nest more than 500"), e.getMessage());
    }

    @Test
    void theDefaultDepthLimitFitsIntoASmallThreadStack() throws InterruptedException {
        AtomicReference<Throwable> thrown = new AtomicReference<>();
        Thread t = new Thread(null, () -> {
            try {
                ChatTemplate.parse("{% macro f(n) %}{% if n > -1 %}{{ f(n + 1) | trim }}{% endif %}{% endmacro %}{{ f(0) }}")
                        .renderVariables(Map.of(), RenderOptions.DEFAULT);
            } catch (Throwable e) {
                thrown.set(e);
            }
        }, "small-stack", 512 * 1024);
        t.start();
        t.join();
        TemplateException e = assertInstanceOf(TemplateException.class, thrown.get());
        assertTrue(e.reason().contains("nest more than 500"), "the depth limit, not the stack, should stop it: " + e.getMessage());
    }

    @Test
    void aTinyStackStillGivesATemplateException() throws InterruptedException {
        AtomicReference<Throwable> thrown = new AtomicReference<>();
        Thread t = new Thread(null, () -> {
            try {
                ChatTemplate.parse("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}")
                        .renderVariables(Map.of(), RenderOptions.DEFAULT.withLimits(new RenderOptions.Limits(1_000_000, 1_000_000, 1 << 20, 1 << 24)));
            } catch (Throwable e) {
                thrown.set(e);
            }
        }, "tiny-stack", 64 * 1024);
        t.start();
        t.join();
        TemplateException e = assertInstanceOf(TemplateException.class, thrown.get());
        assertEquals(TemplateException.Kind.LIMIT, e.kind());
    }

    @Test
    void nestedLoopsStopAtTheIterationLimit() {
        long start = System.nanoTime();
        TemplateException e = failure("{% for i in range(1000) %}{% for j in range(1000) %}{% for k in range(1000) %}"
                + "{% endfor %}{% endfor %}{% endfor %}");
        assertEquals(TemplateException.Kind.LIMIT, e.kind());
        assertTrue(e.reason().contains("more than 1000000 loop iterations"), e.getMessage());
        assertTrue(System.nanoTime() - start < 30_000_000_000L, "a limit should stop the render long before 30 s");
        assertEquals(TemplateException.Kind.LIMIT, failure("{{ range(100000000) | length }}").kind());
    }

    @Test
    void doublingAListStopsAtTheIterationLimit() {
        assertEquals(TemplateException.Kind.LIMIT,
                failure("{% set l = [1] %}{% for i in range(40) %}{% set l = l + l %}{% endfor %}").kind());
    }

    @Test
    void doublingAStringStopsAtTheTextLimit() {
        TemplateException e = failure("{% set ns = namespace(s='x') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}");
        assertEquals(TemplateException.Kind.LIMIT, e.kind());
        assertTrue(e.reason().contains("text longer than " + (16 << 20) + " characters"), e.getMessage());
        TemplateException replaced = failure("{% set ns = namespace(s='xxxxxxxxxx') %}{% for i in range(10) %}"
                + "{% set ns.s = ns.s.replace('x', ns.s) %}{% endfor %}");
        assertEquals(TemplateException.Kind.LIMIT, replaced.kind());
    }

    @Test
    void theOutputLimitIsExact() {
        RenderOptions ten = RenderOptions.DEFAULT.withLimits(new RenderOptions.Limits(500, 1000, 10, 1000));
        assertEquals("1234567890", ChatTemplate.parse("12345{{ '67890' }}").renderVariables(Map.of(), ten));
        assertEquals(TemplateException.Kind.LIMIT, failure("12345{{ '678901' }}", ten).kind());
    }

    @Test
    void manySmallStringsStopAtTheBuiltTextLimit() {
        RenderOptions small = RenderOptions.DEFAULT.withLimits(new RenderOptions.Limits(500, 1_000_000, 1000, 5000));
        TemplateException e = failure("{% for i in range(1000) %}{% set s = 'abcdefghij' ~ i %}{% endfor %}", small);
        assertEquals(TemplateException.Kind.LIMIT, e.kind());
        assertTrue(e.reason().contains("more than 5000 characters of text built in all"), e.getMessage());
    }

    @Test
    void aNamespaceThatContainsItselfCannotBePrinted() {
        TemplateException e = failure("{% set ns = namespace() %}{% set ns.me = ns %}{{ ns }}");
        assertEquals(TemplateException.Kind.LIMIT, e.kind());
        assertTrue(e.reason().contains("contain itself"), e.getMessage());
        assertEquals(TemplateException.Kind.LIMIT, failure("{% set ns = namespace() %}{% set ns.me = ns %}{{ ns | tojson }}").kind());
    }

    @Test
    void limitsMustBePositive() {
        assertThrows(IllegalArgumentException.class, () -> new RenderOptions.Limits(0, 1, 1, 1));
        assertThrows(IllegalArgumentException.class, () -> new RenderOptions.Limits(1, 1, 1, -1));
    }

    /**
     * Found by the fuzz suite's chat-template target (seed 10300829437024626092): a macro calling itself twice makes
     * no text and no loop, so only the step budget stops its 2^40 calls.
     */
    @Test
    void theStepBudgetStopsWorkThatBuildsNothing() {
        TemplateException e = failure("{% macro f(n) %}{% if n > 0 %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(40) }}");
        assertEquals(TemplateException.Kind.LIMIT, e.kind());
        assertTrue(e.getMessage().contains("more than 50000000 steps"), e.getMessage());
        RenderOptions hundred = RenderOptions.DEFAULT.withLimits(new RenderOptions.Limits(500, 1_000_000, 1 << 20, 1 << 24, 100));
        assertEquals("chat template went past a limit at line 1, column 25: more than 100 steps (statements executed and"
                + " expressions evaluated)", failure("{% for i in range(50) %}{{ i }}{% endfor %}", hundred).getMessage());
        assertEquals("0123", ChatTemplate.parse("{% for i in range(4) %}{{ i }}{% endfor %}").renderVariables(Map.of(), hundred));
        assertThrows(IllegalArgumentException.class, () -> new RenderOptions.Limits(1, 1, 1, 1, 0));
    }

    /** Found by the fuzz suite's chat-template target (seeds 501110129535739223, 14058152619734521317, 16543463228882737923). */
    @Test
    void whatAFailureQuotesIsShownVisibly() {
        assertEquals("chat template syntax error at line 1, column 4: unexpected character '\\e'", failure("{{ \u001b[2J }}").getMessage());
        assertEquals("chat template syntax error at line 1, column 4: unexpected character '\\x08'", failure("{{ \b }}").getMessage());
        assertEquals("chat template syntax error at line 1, column 4: unexpected character '\uD83D\uDE00'",
                failure("{{ \uD83D\uDE00 }}").getMessage());
        TemplateException raised = failure("{{ raise_exception('a\\nb \u001b[2J \u202e') }}");
        assertEquals("a\nb \u001b[2J \u202e", raised.reason());
        assertEquals("chat template raised an exception at line 1, column 19: a\\nb \\e[2J \\u{202E}", raised.getMessage());
    }

    @Test
    void everyFailureMessageIsOneLine() {
        for (String template : List.of("{% if %}", "{{ 'a\nb' + none }}", "{{ raise_exception('x\ny') }}", "{% for x in 1 %}{% endfor %}")) {
            TemplateException e = assertThrows(TemplateException.class,
                    () -> ChatTemplate.parse(template).renderVariables(Map.of(), RenderOptions.DEFAULT));
            assertFalse(e.getMessage().contains("\n"), e.getMessage());
        }
    }
}
