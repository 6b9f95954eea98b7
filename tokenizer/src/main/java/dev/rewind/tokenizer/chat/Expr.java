package dev.rewind.tokenizer.chat;

import java.util.List;

/**
 * An expression of the template language. Every node remembers where it starts in the template's
 * source ({@code at}, an offset) so that a failure while evaluating it can name its line and column.
 */
sealed interface Expr {

    int at();

    /** A string, number, {@code true}/{@code false} or {@code none} written in the template. */
    record Literal(int at, Value value) implements Expr {
    }

    /** A variable: {@code messages}, {@code loop}, {@code raise_exception}. */
    record Name(int at, String name) implements Expr {
    }

    /** {@code [a, b]}, or a tuple {@code (a, b)} / {@code a, b}: both are lists here. */
    record ListLiteral(int at, List<Expr> items) implements Expr {
    }

    /** {@code {'key': value, ...}}. */
    record DictLiteral(int at, List<Entry> entries) implements Expr {
        record Entry(Expr key, Expr value) {
        }
    }

    /** {@code object.name}. */
    record Attribute(int at, Expr object, String name) implements Expr {
    }

    /** {@code object[index]}. */
    record Index(int at, Expr object, Expr index) implements Expr {
    }

    /** {@code object[start:stop:step]}; a part left out is null. */
    record Slice(int at, Expr object, Expr start, Expr stop, Expr step) implements Expr {
    }

    /** {@code callee(args)}. */
    record Call(int at, Expr callee, List<Argument> args) implements Expr {
    }

    /** {@code operand | name(args)}. */
    record Filter(int at, Expr operand, String name, List<Argument> args) implements Expr {
    }

    /** {@code operand is [not] name(args)}. */
    record Test(int at, Expr operand, boolean negated, String name, List<Argument> args) implements Expr {
    }

    /** {@code not x}, {@code -x}, {@code +x}. */
    record Unary(int at, UnaryOperator operator, Expr operand) implements Expr {
    }

    /** {@code left operator right}; {@code and} and {@code or} evaluate their right side only when needed. */
    record Binary(int at, BinaryOperator operator, Expr left, Expr right) implements Expr {
    }

    /**
     * {@code then if test else otherwise}; without {@code else} ({@code otherwise} null) it is
     * undefined when the test is false, and in a {@code for} loop it filters the items.
     */
    record Conditional(int at, Expr then, Expr test, Expr otherwise) implements Expr {
    }

    enum UnaryOperator { NOT, MINUS, PLUS }

    enum BinaryOperator {
        OR("or"), AND("and"),
        IN("in"), NOT_IN("not in"), EQUAL("=="), NOT_EQUAL("!="), LESS("<"), GREATER(">"), LESS_EQUAL("<="), GREATER_EQUAL(">="),
        ADD("+"), SUBTRACT("-"), CONCATENATE("~"),
        MULTIPLY("*"), DIVIDE("/"), FLOOR_DIVIDE("//"), MODULO("%"), POWER("**");

        final String symbol;

        BinaryOperator(String symbol) {
            this.symbol = symbol;
        }

        static BinaryOperator of(String symbol) {
            for (BinaryOperator op : values()) {
                if (op.symbol.equals(symbol)) {
                    return op;
                }
            }
            throw new IllegalArgumentException(symbol);
        }
    }

    /** One argument of a call: {@code value}, {@code name=value}, {@code *list} or {@code **dict}. */
    sealed interface Argument {
        Expr value();

        record Positional(Expr value) implements Argument {
        }

        record Keyword(String name, Expr value) implements Argument {
        }

        record Spread(Expr value) implements Argument {
        }

        record KeywordSpread(Expr value) implements Argument {
        }
    }
}
