package dev.rewind.tokenizer.chat;

import org.junit.jupiter.api.Test;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** {@code strftime_now} formats the render's clock with Python's directives in the C locale. */
class StrftimeTest {

    private static final ZonedDateTime T = ZonedDateTime.of(2024, 3, 5, 7, 8, 9, 123_456_000, ZoneId.of("Europe/Paris"));

    @Test
    void pythonDirectives() {
        assertEquals("2024-03-05 07:08:09.123456", Strftime.format(T, "%Y-%m-%d %H:%M:%S.%f"));
        assertEquals("05 Mar 2024 | March | Tue | Tuesday | 2", Strftime.format(T, "%d %b %Y | %B | %a | %A | %w"));
        assertEquals("07 AM | 065 | 24 | +0100", Strftime.format(T, "%I %p | %j | %y | %z"));
        assertEquals("Tue Mar  5 07:08:09 2024 | 03/05/24 | 07:08:09", Strftime.format(T, "%c | %x | %X"));
    }

    @Test
    void glibcUnpaddedFieldsAndLiterals() {
        assertEquals("5 3 7 | 5", Strftime.format(T, "%-d %-m %-H | %e").replace("  ", " ").replace("|  ", "| "));
        assertEquals("100% %Q %", Strftime.format(T, "100%% %Q %"));
    }

    @Test
    void theTemplateReadsTheClockOfTheRenderOptions() {
        RenderOptions options = RenderOptions.DEFAULT.withClock(Clock.fixed(Instant.parse("2025-01-02T23:30:00Z"), ZoneId.of("Asia/Tokyo")));
        String text = ChatTemplate.parse("Today is {{ strftime_now('%d %B %Y') }}.").render(List.of(), false, Map.of(), options);
        assertEquals("Today is 03 January 2025.", text);
    }
}
