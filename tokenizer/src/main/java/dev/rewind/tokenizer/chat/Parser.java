package dev.rewind.tokenizer.chat;

import dev.rewind.tokenizer.chat.Expr.Argument;
import dev.rewind.tokenizer.chat.Expr.BinaryOperator;
import dev.rewind.tokenizer.chat.Token.Kind;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Builds the statements of a template from its tokens by recursive descent, with the operator
 * precedence of {@code @huggingface/jinja} (loosest first): {@code x if c else y}; {@code or};
 * {@code and}; {@code not}; comparisons and {@code in}; {@code + - ~}; {@code * / // %};
 * {@code **}; {@code is} tests; {@code |} filters; signs; then calls, attributes and subscripts.
 */
final class Parser {

    /** How deeply statements and expressions may nest, so that a hostile template cannot exhaust the stack. */
    static final int MAX_NESTING = 200;

    private static final Set<String> UNSUPPORTED = Set.of("include", "import", "from", "extends", "block", "with", "autoescape", "do");

    /** The tags that end or divide a block: met where they do not belong, they are reported as such. */
    private static final Set<String> CLOSERS = Set.of("endif", "elif", "else", "endfor", "endset", "endmacro", "endcall",
            "endfilter", "endraw");

    private final String source;
    private final List<Token> tokens;
    private int current;
    private int nesting;
    private int loops;

    private Parser(String source, List<Token> tokens) {
        this.source = source;
        this.tokens = tokens;
    }

    /** The statements of {@code source}. */
    static List<Stmt> parse(String source) {
        Parser parser = new Parser(source, Lexer.tokenize(source));
        List<Stmt> body = new ArrayList<>();
        while (!parser.peek().is(Kind.END)) {
            parser.statementInto(body);
        }
        return List.copyOf(body);
    }

    // ---- statements

    /** Parses one statement (or skips a comment) and adds it to {@code body}. */
    private void statementInto(List<Stmt> body) {
        Token t = next();
        switch (t.kind()) {
            case COMMENT -> {
            }
            case TEXT, RAW_TEXT -> body.add(new Stmt.Text(t.offset(), t.text()));
            case EXPRESSION_OPEN -> {
                Expr e = expression();
                expect(Kind.EXPRESSION_CLOSE, "}} to close {{");
                body.add(new Stmt.Output(t.offset(), e));
            }
            case BLOCK_OPEN -> {
                enter(t);
                body.add(block(t));
                nesting--;
            }
            default -> throw error(t, "unexpected " + t.describe());
        }
    }

    private Stmt block(Token open) {
        Token name = next();
        if (!name.is(Kind.NAME)) {
            throw error(name, "expected a statement name after {%, found " + name.describe());
        }
        return switch (name.text()) {
            case "set" -> set(open);
            case "if" -> ifStatement(open);
            case "for" -> forStatement(open);
            case "macro" -> macro(open);
            case "call" -> callBlock(open);
            case "filter" -> filterBlock(open);
            case "break", "continue" -> {
                if (loops == 0) {
                    throw error(name, "'" + name.text() + "' outside a for loop");
                }
                expect(Kind.BLOCK_CLOSE, "%} after " + name.text());
                yield name.text().equals("break") ? new Stmt.Break(open.offset()) : new Stmt.Continue(open.offset());
            }
            default -> throw error(name, UNSUPPORTED.contains(name.text())
                    ? "'" + name.text() + "' is not supported in chat templates"
                    : CLOSERS.contains(name.text())
                    ? "{% " + name.text() + " %} without a block it belongs to"
                    : "unknown statement '" + name.text() + "'");
        };
    }

    /** Statements up to one of the {@code {% name %}} tags in {@code ends} (left unconsumed). */
    private List<Stmt> bodyUntil(Token open, String... ends) {
        List<Stmt> body = new ArrayList<>();
        while (!atBlock(ends)) {
            if (peek().is(Kind.END)) {
                throw error(peek(), "{% " + String.join(" %} or {% ", ends) + " %} is missing for the tag at "
                        + lineColumn(open.offset()));
            }
            if (peek().is(Kind.BLOCK_OPEN) && peek(1).is(Kind.NAME) && CLOSERS.contains(peek(1).text())) {
                throw error(peek(1), "expected {% " + String.join(" %} or {% ", ends) + " %} for the tag at "
                        + lineColumn(open.offset()) + ", found {% " + peek(1).text() + " %}");
            }
            statementInto(body);
        }
        return List.copyOf(body);
    }

    /** Whether the next tokens are {@code {% name} for one of {@code names}. */
    private boolean atBlock(String... names) {
        if (!peek().is(Kind.BLOCK_OPEN) || !peek(1).is(Kind.NAME)) {
            return false;
        }
        for (String n : names) {
            if (peek(1).text().equals(n)) {
                return true;
            }
        }
        return false;
    }

    /** Consumes {@code {% name %}}. */
    private void endTag(String name) {
        next();
        next();
        expect(Kind.BLOCK_CLOSE, "%} after " + name);
    }

    private Stmt set(Token open) {
        Expr left = sequence(false);
        Stmt.Target target = switch (left) {
            case Expr.Name n -> new Stmt.Target.Names(List.of(n.name()), false);
            case Expr.ListLiteral l -> new Stmt.Target.Names(names(l, "set"), true);
            case Expr.Attribute a -> new Stmt.Target.Attribute(a.object(), a.name());
            default -> throw error(open, "set can assign to a name, names, or namespace.attribute only");
        };
        if (peek().is(Kind.ASSIGN)) {
            next();
            Expr value = sequence(false);
            expect(Kind.BLOCK_CLOSE, "%} after set");
            return new Stmt.Set(open.offset(), target, value, List.of());
        }
        expect(Kind.BLOCK_CLOSE, "= or %} after set");
        List<Stmt> body = bodyUntil(open, "endset");
        endTag("endset");
        return new Stmt.Set(open.offset(), target, null, body);
    }

    /** {@code if ... elif ... else ... endif}; the elif chain is built without recursion. */
    private Stmt ifStatement(Token open) {
        List<Expr> tests = new ArrayList<>();
        List<List<Stmt>> bodies = new ArrayList<>();
        List<Integer> offsets = new ArrayList<>();
        offsets.add(open.offset());
        tests.add(expression());
        expect(Kind.BLOCK_CLOSE, "%} after the if condition");
        bodies.add(bodyUntil(open, "elif", "else", "endif"));
        List<Stmt> otherwise = List.of();
        while (true) {
            Token tag = peek();
            String name = peek(1).text();
            next();
            next();
            if (name.equals("elif")) {
                offsets.add(tag.offset());
                tests.add(expression());
                expect(Kind.BLOCK_CLOSE, "%} after the elif condition");
                bodies.add(bodyUntil(open, "elif", "else", "endif"));
            } else if (name.equals("else")) {
                expect(Kind.BLOCK_CLOSE, "%} after else");
                otherwise = bodyUntil(open, "endif");
                endTag("endif");
                break;
            } else {
                expect(Kind.BLOCK_CLOSE, "%} after endif");
                break;
            }
        }
        Stmt.If chain = null;
        for (int i = tests.size() - 1; i >= 0; i--) {
            chain = new Stmt.If(offsets.get(i), tests.get(i), bodies.get(i), chain == null ? otherwise : List.of(chain));
        }
        return chain;
    }

    private Stmt forStatement(Token open) {
        Expr target = sequence(true);
        List<String> names;
        boolean unpack;
        switch (target) {
            case Expr.Name n -> {
                names = List.of(n.name());
                unpack = false;
            }
            case Expr.ListLiteral l -> {
                names = names(l, "for");
                unpack = true;
            }
            default -> throw error(open, "the loop variable of for must be a name or names");
        }
        if (!peek().isName("in")) {
            throw error(peek(), "expected 'in' after the loop variable, found " + peek().describe());
        }
        next();
        Expr iterable = expression();
        Expr filter = null;
        if (iterable instanceof Expr.Conditional c && c.otherwise() == null) {
            iterable = c.then();
            filter = c.test();
        }
        expect(Kind.BLOCK_CLOSE, "%} after the for loop's iterable");
        loops++;
        List<Stmt> body = bodyUntil(open, "endfor", "else");
        loops--;
        List<Stmt> otherwise = List.of();
        if (atBlock("else")) {
            endTag("else");
            otherwise = bodyUntil(open, "endfor");
        }
        endTag("endfor");
        return new Stmt.For(open.offset(), names, unpack, iterable, filter, body, otherwise);
    }

    private List<String> names(Expr.ListLiteral list, String statement) {
        List<String> names = new ArrayList<>();
        for (Expr item : list.items()) {
            if (!(item instanceof Expr.Name n)) {
                throw error(item.at(), statement + " can only unpack into names");
            }
            names.add(n.name());
        }
        return List.copyOf(names);
    }

    private Stmt macro(Token open) {
        Token name = expect(Kind.NAME, "the macro's name");
        List<Stmt.Parameter> parameters = parameters();
        expect(Kind.BLOCK_CLOSE, "%} after the macro's parameters");
        int outerLoops = loops;
        loops = 0;
        List<Stmt> body = bodyUntil(open, "endmacro");
        loops = outerLoops;
        endTag("endmacro");
        return new Stmt.Macro(open.offset(), name.text(), parameters, body,
                Mentions.special(parameters, body, "varargs"), Mentions.special(parameters, body, "kwargs"));
    }

    /** {@code (a, b=default, ...)} of a macro or call block. */
    private List<Stmt.Parameter> parameters() {
        List<Stmt.Parameter> parameters = new ArrayList<>();
        Set<String> names = new java.util.HashSet<>();
        for (Argument a : arguments()) {
            Stmt.Parameter p = switch (a) {
                case Argument.Positional(Expr.Name n) -> new Stmt.Parameter(n.name(), null);
                case Argument.Keyword k -> new Stmt.Parameter(k.name(), k.value());
                default -> throw error(a.value().at(), "a parameter must be a name or name=default");
            };
            if (!names.add(p.name())) {
                throw error(a.value().at(), "the parameter '" + p.name() + "' is declared twice");
            }
            if (p.fallback() == null && !parameters.isEmpty() && parameters.getLast().fallback() != null) {
                throw error(a.value().at(), "the parameter '" + p.name() + "' without a default follows one with a default");
            }
            parameters.add(p);
        }
        return List.copyOf(parameters);
    }

    private Stmt callBlock(Token open) {
        List<Stmt.Parameter> parameters = peek().is(Kind.LEFT_PAREN) ? parameters() : List.of();
        Token name = expect(Kind.NAME, "the name of the macro to call");
        Expr callee = new Expr.Name(name.offset(), name.text());
        Token paren = peek();
        if (!paren.is(Kind.LEFT_PAREN)) {
            throw error(paren, "expected ( after the macro's name in call");
        }
        Expr.Call call = new Expr.Call(paren.offset(), callee, arguments());
        expect(Kind.BLOCK_CLOSE, "%} after call");
        List<Stmt> body = bodyUntil(open, "endcall");
        endTag("endcall");
        return new Stmt.CallBlock(open.offset(), parameters, call, body,
                Mentions.special(parameters, body, "varargs"), Mentions.special(parameters, body, "kwargs"));
    }

    private Stmt filterBlock(Token open) {
        Token name = expect(Kind.NAME, "the filter's name");
        List<Argument> args = peek().is(Kind.LEFT_PAREN) ? arguments() : List.of();
        expect(Kind.BLOCK_CLOSE, "%} after filter");
        List<Stmt> body = bodyUntil(open, "endfilter");
        endTag("endfilter");
        return new Stmt.FilterBlock(open.offset(), name.text(), args, body);
    }

    // ---- expressions, loosest first

    Expr expression() {
        enter(peek());
        Expr then = or();
        Expr result = then;
        if (peek().isName("if")) {
            next();
            Expr test = or();
            Expr otherwise = null;
            if (peek().isName("else")) {
                next();
                otherwise = expression();
            }
            result = new Expr.Conditional(then.at(), then, test, otherwise);
        }
        nesting--;
        return result;
    }

    /** One expression, or several separated by commas: a tuple. With {@code primary}, only primaries (for loop targets). */
    private Expr sequence(boolean primary) {
        Expr first = primary ? primary() : expression();
        if (!peek().is(Kind.COMMA)) {
            return first;
        }
        List<Expr> items = new ArrayList<>(List.of(first));
        while (peek().is(Kind.COMMA)) {
            next();
            items.add(primary ? primary() : expression());
        }
        return new Expr.ListLiteral(first.at(), List.copyOf(items));
    }

    private Expr or() {
        Expr left = and();
        while (peek().isName("or")) {
            Token op = next();
            left = new Expr.Binary(op.offset(), BinaryOperator.OR, left, and());
        }
        return left;
    }

    private Expr and() {
        Expr left = not();
        while (peek().isName("and")) {
            Token op = next();
            left = new Expr.Binary(op.offset(), BinaryOperator.AND, left, not());
        }
        return left;
    }

    private Expr not() {
        if (peek().isName("not")) {
            Token op = next();
            enter(op);
            Expr operand = not();
            nesting--;
            return new Expr.Unary(op.offset(), Expr.UnaryOperator.NOT, operand);
        }
        return comparison();
    }

    private Expr comparison() {
        Expr left = additive();
        while (true) {
            Token t = peek();
            BinaryOperator op;
            if (t.isName("not") && peek(1).isName("in")) {
                next();
                op = BinaryOperator.NOT_IN;
            } else if (t.isName("in")) {
                op = BinaryOperator.IN;
            } else if (t.is(Kind.COMPARISON)) {
                op = BinaryOperator.of(t.text());
            } else {
                return left;
            }
            next();
            left = new Expr.Binary(t.offset(), op, left, additive());
        }
    }

    private Expr additive() {
        Expr left = multiplicative();
        while (peek().is(Kind.ADDITIVE)) {
            Token op = next();
            left = new Expr.Binary(op.offset(), BinaryOperator.of(op.text()), left, multiplicative());
        }
        return left;
    }

    private Expr multiplicative() {
        Expr left = power();
        while (peek().is(Kind.MULTIPLICATIVE)) {
            Token op = next();
            left = new Expr.Binary(op.offset(), BinaryOperator.of(op.text()), left, power());
        }
        return left;
    }

    /** {@code a ** b}, grouped from the left as the reference does ({@code 2 ** 3 ** 2} is 64). */
    private Expr power() {
        Expr left = test();
        while (peek().is(Kind.POWER)) {
            Token op = next();
            left = new Expr.Binary(op.offset(), BinaryOperator.POWER, left, test());
        }
        return left;
    }

    /** Names after which {@code is test} takes no bare argument. */
    private static final Set<String> NOT_A_TEST_ARGUMENT = Set.of("else", "or", "and", "if", "in", "not", "is");

    private Expr test() {
        Expr operand = filter();
        while (peek().isName("is")) {
            Token is = next();
            boolean negated = false;
            if (peek().isName("not")) {
                next();
                negated = true;
            }
            Token name = expect(Kind.NAME, "a test name after 'is'");
            List<Argument> args;
            Token t = peek();
            if (t.is(Kind.LEFT_PAREN)) {
                args = arguments();
            } else if (startsBareTestArgument(t)) {
                args = List.of(new Argument.Positional(postfix(primary())));
            } else {
                args = List.of();
            }
            operand = new Expr.Test(is.offset(), operand, negated, name.text(), args);
        }
        return operand;
    }

    /** Jinja's {@code x is divisibleby 3}: a test may take one argument without parentheses. */
    private static boolean startsBareTestArgument(Token t) {
        return switch (t.kind()) {
            case STRING, NUMBER, LEFT_BRACKET, LEFT_BRACE -> true;
            case NAME -> !NOT_A_TEST_ARGUMENT.contains(t.text());
            default -> false;
        };
    }

    private Expr filter() {
        Expr operand = sign();
        while (peek().is(Kind.PIPE)) {
            Token pipe = next();
            Token name = expect(Kind.NAME, "a filter name after |");
            List<Argument> args = peek().is(Kind.LEFT_PAREN) ? arguments() : List.of();
            operand = new Expr.Filter(pipe.offset(), operand, name.text(), args);
        }
        return operand;
    }

    private Expr sign() {
        Token t = peek();
        if ((t.is(Kind.SIGN) || t.is(Kind.ADDITIVE)) && (t.text().equals("-") || t.text().equals("+"))) {
            next();
            enter(t);
            Expr operand = sign();
            nesting--;
            return new Expr.Unary(t.offset(), t.text().equals("-") ? Expr.UnaryOperator.MINUS : Expr.UnaryOperator.PLUS, operand);
        }
        return postfix(primary());
    }

    /** Attributes, subscripts and calls after a primary: {@code a.b[0](x).c}. */
    private Expr postfix(Expr object) {
        while (true) {
            Token t = peek();
            switch (t.kind()) {
                case DOT -> {
                    next();
                    Token name = next();
                    if (name.is(Kind.NAME)) {
                        object = new Expr.Attribute(t.offset(), object, name.text());
                    } else if (name.is(Kind.NUMBER) && !name.text().contains(".")) {
                        object = new Expr.Index(t.offset(), object, integer(name));
                    } else {
                        throw error(name, "expected a name after '.', found " + name.describe());
                    }
                }
                case LEFT_BRACKET -> {
                    next();
                    object = subscript(t, object);
                }
                case LEFT_PAREN -> object = new Expr.Call(t.offset(), object, arguments());
                default -> {
                    return object;
                }
            }
        }
    }

    /** After {@code [}: an index or a slice {@code start:stop:step}, then {@code ]}. */
    private Expr subscript(Token bracket, Expr object) {
        Expr[] parts = new Expr[3];
        int count = 0;
        boolean slice = false;
        while (!peek().is(Kind.RIGHT_BRACKET)) {
            if (count == 3) {
                throw error(peek(), "a slice has at most three parts");
            }
            if (peek().is(Kind.COLON)) {
                next();
                count++;
                slice = true;
            } else {
                parts[count++] = expression();
                if (peek().is(Kind.COLON)) {
                    next();
                    slice = true;
                } else if (!peek().is(Kind.RIGHT_BRACKET)) {
                    throw error(peek(), "expected ] or :, found " + peek().describe());
                }
            }
        }
        next();
        if (count == 0) {
            throw error(bracket, "[] needs an index");
        }
        if (slice) {
            return new Expr.Slice(bracket.offset(), object, parts[0], parts[1], parts[2]);
        }
        return new Expr.Index(bracket.offset(), object, parts[0]);
    }

    /** {@code (a, name=b, *c, **d)}. */
    private List<Argument> arguments() {
        Token open = expect(Kind.LEFT_PAREN, "(");
        enter(open);
        List<Argument> args = new ArrayList<>();
        boolean keywords = false;
        while (!peek().is(Kind.RIGHT_PAREN)) {
            if (!args.isEmpty()) {
                expect(Kind.COMMA, ", between arguments");
                if (peek().is(Kind.RIGHT_PAREN)) {
                    break;
                }
            }
            Token t = peek();
            if (t.is(Kind.MULTIPLICATIVE) && t.text().equals("*")) {
                next();
                args.add(new Argument.Spread(expression()));
                continue;
            }
            if (t.is(Kind.POWER)) {
                next();
                args.add(new Argument.KeywordSpread(expression()));
                if (peek().is(Kind.COMMA)) {
                    next();
                }
                if (!peek().is(Kind.RIGHT_PAREN)) {
                    throw error(peek(), "**arguments must come last");
                }
                continue;
            }
            Expr value = expression();
            if (peek().is(Kind.ASSIGN)) {
                next();
                if (!(value instanceof Expr.Name n)) {
                    throw error(t, "a keyword argument needs a name before =");
                }
                args.add(new Argument.Keyword(n.name(), expression()));
                keywords = true;
            } else {
                if (keywords) {
                    throw error(t, "a positional argument cannot follow keyword arguments");
                }
                args.add(new Argument.Positional(value));
            }
        }
        next();
        nesting--;
        return List.copyOf(args);
    }

    private Expr primary() {
        Token t = next();
        return switch (t.kind()) {
            case NUMBER -> t.text().contains(".")
                    ? new Expr.Literal(t.offset(), new Value.Real(Double.parseDouble(t.text())))
                    : integer(t);
            case STRING -> {
                StringBuilder s = new StringBuilder(t.text());
                while (peek().is(Kind.STRING)) {
                    s.append(next().text());
                }
                yield new Expr.Literal(t.offset(), new Value.Str(s.toString()));
            }
            case NAME -> switch (t.text()) {
                case "true", "True" -> new Expr.Literal(t.offset(), Value.Bool.TRUE);
                case "false", "False" -> new Expr.Literal(t.offset(), Value.Bool.FALSE);
                case "none", "None" -> new Expr.Literal(t.offset(), Value.None.NONE);
                default -> new Expr.Name(t.offset(), t.text());
            };
            case LEFT_PAREN -> {
                if (peek().is(Kind.RIGHT_PAREN)) {
                    next();
                    yield new Expr.ListLiteral(t.offset(), List.of());
                }
                enter(t);
                Expr inner = sequence(false);
                nesting--;
                expect(Kind.RIGHT_PAREN, ") to close (");
                yield inner;
            }
            case LEFT_BRACKET -> {
                enter(t);
                List<Expr> items = new ArrayList<>();
                while (!peek().is(Kind.RIGHT_BRACKET)) {
                    if (!items.isEmpty()) {
                        expect(Kind.COMMA, ", or ] in the list");
                        if (peek().is(Kind.RIGHT_BRACKET)) {
                            break;
                        }
                    }
                    items.add(expression());
                }
                next();
                nesting--;
                yield new Expr.ListLiteral(t.offset(), List.copyOf(items));
            }
            case LEFT_BRACE -> {
                enter(t);
                List<Expr.DictLiteral.Entry> entries = new ArrayList<>();
                while (!peek().is(Kind.RIGHT_BRACE)) {
                    if (!entries.isEmpty()) {
                        expect(Kind.COMMA, ", or } in the dict");
                        if (peek().is(Kind.RIGHT_BRACE)) {
                            break;
                        }
                    }
                    Expr key = expression();
                    expect(Kind.COLON, ": between a key and its value");
                    entries.add(new Expr.DictLiteral.Entry(key, expression()));
                }
                next();
                nesting--;
                yield new Expr.DictLiteral(t.offset(), List.copyOf(entries));
            }
            default -> throw error(t, "expected a value, found " + t.describe());
        };
    }

    private Expr.Literal integer(Token t) {
        try {
            return new Expr.Literal(t.offset(), new Value.Int(Long.parseLong(t.text())));
        } catch (NumberFormatException e) {
            throw error(t, "integer " + t.text() + " is too large");
        }
    }

    // ---- token helpers

    private Token peek() {
        return peek(0);
    }

    private Token peek(int ahead) {
        return tokens.get(Math.min(current + ahead, tokens.size() - 1));
    }

    private Token next() {
        Token t = peek();
        if (current < tokens.size() - 1) {
            current++;
        }
        return t;
    }

    private Token expect(Kind kind, String what) {
        Token t = next();
        if (!t.is(kind)) {
            throw error(t, "expected " + what + ", found " + t.describe());
        }
        return t;
    }

    private void enter(Token at) {
        if (++nesting > MAX_NESTING) {
            throw error(at, "statements and expressions nest more than " + MAX_NESTING + " deep");
        }
    }

    private String lineColumn(int offset) {
        TemplateException where = TemplateException.at(source, offset, TemplateException.Kind.SYNTAX, "");
        return "line " + where.line() + ", column " + where.column();
    }

    private TemplateException error(Token t, String reason) {
        return error(t.offset(), reason);
    }

    private TemplateException error(int offset, String reason) {
        return TemplateException.at(source, offset, TemplateException.Kind.SYNTAX, reason);
    }
}
