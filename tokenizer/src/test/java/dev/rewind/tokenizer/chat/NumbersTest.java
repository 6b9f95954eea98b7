package dev.rewind.tokenizer.chat;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/** Numbers are written and parsed exactly as JavaScript does (the values below are what node prints). */
class NumbersTest {

    @Test
    void floatsAreWrittenAsJavaScriptWritesThem() {
        double[] values = {0.1, 1e21, 1e-7, 123e-20, 5e-324, 1.7976931348623157e308, 100, 1.5, -2.5e-10, 0.000001,
                12345678.9, 1e20, 123456789012345680000.0, 0.5e-6, 9007199254740994.0, -1e-7, 4.35};
        String[] javaScript = {"0.1", "1e+21", "1e-7", "1.23e-18", "5e-324", "1.7976931348623157e+308", "100", "1.5",
                "-2.5e-10", "0.000001", "12345678.9", "100000000000000000000", "123456789012345680000", "5e-7",
                "9007199254740994", "-1e-7", "4.35"};
        for (int i = 0; i < values.length; i++) {
            assertEquals(javaScript[i], Numbers.javaScript(values[i]), "String(" + values[i] + ")");
        }
        assertEquals("NaN", Numbers.javaScript(Double.NaN));
        assertEquals("-Infinity", Numbers.javaScript(Double.NEGATIVE_INFINITY));
        assertEquals("0", Numbers.javaScript(-0.0));
    }

    @Test
    void aWholeFloatKeepsItsPointZeroWhenPrinted() {
        assertEquals("2.0", Numbers.floatText(2));
        assertEquals("-0.0", Numbers.floatText(-0.0));
        assertEquals("100000000000000000000.0", Numbers.floatText(1e20));
        assertEquals("1e+21", Numbers.floatText(1e21));
        assertEquals("2.5", Numbers.floatText(2.5));
    }

    @Test
    void parseIntAndParseFloatReadTheLongestPrefix() {
        String[] inputs = {" 42abc", "-7", "+3", "abc", "", "1.5e3x", ".5", "5.", "-.5e-2", "e5", "0x1F", " \u00a0 12", "1e", "1e+", "-"};
        Long[] ints = {42L, -7L, 3L, null, null, 1L, null, 5L, null, null, 0L, 12L, 1L, 1L, null};
        Double[] floats = {42.0, -7.0, 3.0, null, null, 1500.0, 0.5, 5.0, -0.005, null, 0.0, 12.0, 1.0, 1.0, null};
        for (int i = 0; i < inputs.length; i++) {
            assertEquals(ints[i], Numbers.parseIntPrefix(inputs[i]), "parseInt('" + inputs[i] + "')");
            assertEquals(floats[i], Numbers.parseFloatPrefix(inputs[i]), "parseFloat('" + inputs[i] + "')");
        }
        assertEquals(Double.POSITIVE_INFINITY, Numbers.parseFloatPrefix("Infinityx"));
        assertEquals(Double.NEGATIVE_INFINITY, Numbers.parseFloatPrefix("-Infinity"));
        assertNull(Numbers.parseIntPrefix("Infinity"));
    }
}
