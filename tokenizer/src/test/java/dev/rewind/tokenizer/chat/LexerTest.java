package dev.rewind.tokenizer.chat;

import dev.rewind.tokenizer.chat.Token.Kind;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Tokens, whitespace control and the offsets that tie each token to the original source. */
class LexerTest {

    private static List<Kind> kinds(String template) {
        return Lexer.tokenize(template).stream().map(Token::kind).toList();
    }

    @Test
    void textExpressionsAndStatements() {
        assertEquals(List.of(Kind.TEXT, Kind.EXPRESSION_OPEN, Kind.NAME, Kind.DOT, Kind.NAME, Kind.PIPE, Kind.NAME,
                        Kind.EXPRESSION_CLOSE, Kind.BLOCK_OPEN, Kind.NAME, Kind.NAME, Kind.COMPARISON, Kind.NUMBER, Kind.BLOCK_CLOSE, Kind.END),
                kinds("Hi {{ m.content | trim }}{% if x >= -1 %}"));
    }

    @Test
    void aMinusIsASignAfterAnOperatorAndAnOperatorAfterAnOperand() {
        List<Token> tokens = Lexer.tokenize("{{ a - 1 }}{{ [-1] }}{{ (1) -x }}");
        assertEquals("-", tokens.get(2).text());
        assertEquals(Kind.ADDITIVE, tokens.get(2).kind());
        assertEquals(Kind.NUMBER, tokens.get(7).kind());
        assertEquals("-1", tokens.get(7).text());
        assertEquals(Kind.ADDITIVE, tokens.get(14).kind());
    }

    @Test
    void aDictLiteralMayEndWithTwoBraces() {
        assertEquals(List.of(Kind.EXPRESSION_OPEN, Kind.LEFT_BRACE, Kind.STRING, Kind.COLON, Kind.LEFT_BRACE, Kind.STRING,
                Kind.COLON, Kind.NUMBER, Kind.RIGHT_BRACE, Kind.RIGHT_BRACE, Kind.EXPRESSION_CLOSE, Kind.END), kinds("{{ {'a': {'b': 1}} }}"));
    }

    @Test
    void offsetsAreInTheOriginalSource() {
        String source = "a\n   {% if x %}\n  b";
        List<Token> tokens = Lexer.tokenize(source);
        Token name = tokens.get(2);
        assertEquals("if", name.text());
        assertEquals(source.indexOf("if"), name.offset());
        assertEquals("a\n", tokens.get(0).text());
        assertEquals("  b", tokens.get(5).text());
        assertEquals(source.indexOf("  b"), tokens.get(5).offset());
    }

    @Test
    void commentsEndTextRunsButStripOnlyWithDashes() {
        List<Token> tokens = Lexer.tokenize("a  {# c #}  {%- if x %}");
        assertEquals(List.of(Kind.TEXT, Kind.COMMENT, Kind.BLOCK_OPEN, Kind.NAME, Kind.NAME, Kind.BLOCK_CLOSE, Kind.END),
                tokens.stream().map(Token::kind).toList());
        assertEquals("a  ", tokens.get(0).text());
    }

    @Test
    void rawBlocksAreOneTextToken() {
        List<Token> tokens = Lexer.tokenize("{% raw -%}  {{ x }} {%- endraw %}!");
        assertEquals(List.of(Kind.RAW_TEXT, Kind.TEXT, Kind.END), tokens.stream().map(Token::kind).toList());
        assertEquals("{{ x }}", tokens.get(0).text());
    }

    @Test
    void stringEscapes() {
        assertEquals("a\tb\n'\"\\\u00e9\u00e9\\d\u0000\ud83d\ude42",
                Lexer.tokenize("{{ 'a\\tb\\n\\'\\\"\\\\\\xe9\\u00e9\\d\\0\\U0001F642' }}").get(1).text());
    }
}
