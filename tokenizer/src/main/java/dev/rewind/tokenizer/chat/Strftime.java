package dev.rewind.tokenizer.chat;

import java.time.ZonedDateTime;
import java.time.format.TextStyle;
import java.util.Locale;

/**
 * Python's {@code strftime} in the C locale, for {@code strftime_now(format)}: {@code %Y %y %m %d %e
 * %H %I %M %S %f %p %j %a %A %b %B %w %z %Z %c %x %X %%}, and glibc's {@code %-d} style (no padding).
 * Anything else is kept as written.
 */
final class Strftime {

    private Strftime() {
    }

    static String format(ZonedDateTime t, String format) {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < format.length(); i++) {
            char c = format.charAt(i);
            if (c != '%' || i + 1 >= format.length()) {
                out.append(c);
                continue;
            }
            boolean unpadded = format.charAt(i + 1) == '-' && i + 2 < format.length();
            char d = format.charAt(unpadded ? i + 2 : i + 1);
            String field = field(t, d, unpadded);
            if (field == null) {
                out.append(c);
                continue;
            }
            out.append(field);
            i += unpadded ? 2 : 1;
        }
        return out.toString();
    }

    private static String field(ZonedDateTime t, char d, boolean unpadded) {
        return switch (d) {
            case 'Y' -> Integer.toString(t.getYear());
            case 'y' -> number(t.getYear() % 100, 2, unpadded);
            case 'm' -> number(t.getMonthValue(), 2, unpadded);
            case 'd' -> number(t.getDayOfMonth(), 2, unpadded);
            case 'e' -> unpadded ? Integer.toString(t.getDayOfMonth()) : String.format("%2d", t.getDayOfMonth());
            case 'H' -> number(t.getHour(), 2, unpadded);
            case 'I' -> number(t.getHour() % 12 == 0 ? 12 : t.getHour() % 12, 2, unpadded);
            case 'M' -> number(t.getMinute(), 2, unpadded);
            case 'S' -> number(t.getSecond(), 2, unpadded);
            case 'f' -> number(t.getNano() / 1000, 6, unpadded);
            case 'p' -> t.getHour() < 12 ? "AM" : "PM";
            case 'j' -> number(t.getDayOfYear(), 3, unpadded);
            case 'a' -> t.getDayOfWeek().getDisplayName(TextStyle.SHORT, Locale.ENGLISH);
            case 'A' -> t.getDayOfWeek().getDisplayName(TextStyle.FULL, Locale.ENGLISH);
            case 'b' -> t.getMonth().getDisplayName(TextStyle.SHORT, Locale.ENGLISH);
            case 'B' -> t.getMonth().getDisplayName(TextStyle.FULL, Locale.ENGLISH);
            case 'w' -> Integer.toString(t.getDayOfWeek().getValue() % 7);
            case 'z' -> {
                int seconds = t.getOffset().getTotalSeconds();
                yield (seconds < 0 ? "-" : "+") + String.format("%02d%02d", Math.abs(seconds) / 3600, Math.abs(seconds) / 60 % 60);
            }
            case 'Z' -> t.getZone().getDisplayName(TextStyle.SHORT, Locale.ENGLISH);
            case 'c' -> format(t, "%a %b %e %H:%M:%S %Y");
            case 'x' -> format(t, "%m/%d/%y");
            case 'X' -> format(t, "%H:%M:%S");
            case '%' -> unpadded ? null : "%";
            default -> null;
        };
    }

    private static String number(int value, int width, boolean unpadded) {
        String s = Integer.toString(value);
        return unpadded || s.length() >= width ? s : "0".repeat(width - s.length()) + s;
    }
}
