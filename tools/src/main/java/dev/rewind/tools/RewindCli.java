package dev.rewind.tools;

import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;

/** The {@code rewind} command line. */
@Command(name = "rewind", mixinStandardHelpOptions = true, versionProvider = RewindCli.Version.class,
        description = "Rewind: a pure-Java LLM inference engine over memory-mapped GGUF files.",
        subcommands = {GenerateCommand.class, ChatCommand.class, InfoCommand.class, TokenizeCommand.class, TemplateCommand.class,
                SynthCommand.class, DeraCommand.class, AlignerCommand.class, RainCommand.class, RainViewCommand.class, BenchCommand.class,
                ConvertCommand.class, FuzzCommand.class, EmbedCommand.class,
                CommandLine.HelpCommand.class})
public final class RewindCli {

    public static void main(String[] args) {
        System.exit(run(args, new PrintStream(System.out, true, StandardCharsets.UTF_8),
                new PrintStream(System.err, true, StandardCharsets.UTF_8)));
    }

    /** Runs the command line with the given streams, standard input as input, and returns the exit code (0 on success). */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        return run(args, System.in, out, err);
    }

    /** Runs the command line with the given streams and returns the exit code (0 on success). */
    public static int run(String[] args, InputStream in, PrintStream out, PrintStream err) {
        CommandLine cli = new CommandLine(new RewindCli(), new Factory(in, out, err));
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        cli.setCaseInsensitiveEnumValuesAllowed(true);
        cli.setExecutionExceptionHandler(new ErrorReporter(err));
        cli.setParameterExceptionHandler((ex, a) -> {
            err.println(dev.rewind.engine.text.Escape.visible("rewind: " + ex.getMessage()));
            err.println("Try '" + ex.getCommandLine().getCommandSpec().qualifiedName() + " --help' for the options.");
            return 2;
        });
        return cli.execute(args);
    }

    /** Creates subcommands with the streams they print to (no global state). */
    private record Factory(InputStream in, PrintStream out, PrintStream err) implements CommandLine.IFactory {
        @Override
        public <K> K create(Class<K> cls) throws Exception {
            if (cls == ChatCommand.class) {
                return cls.cast(new ChatCommand(new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8)), out, err));
            }
            if (cls == GenerateCommand.class) {
                return cls.cast(new GenerateCommand(out, err));
            }
            if (cls == FuzzCommand.class) {
                return cls.cast(new FuzzCommand(out));
            }
            if (cls == InfoCommand.class) {
                return cls.cast(new InfoCommand(out));
            }
            if (cls == TokenizeCommand.class) {
                return cls.cast(new TokenizeCommand(out));
            }
            if (cls == TemplateCommand.class) {
                return cls.cast(new TemplateCommand(out));
            }
            if (cls == SynthCommand.class) {
                return cls.cast(new SynthCommand(out, err));
            }
            if (cls == DeraCommand.class) {
                return cls.cast(new DeraCommand(out, err));
            }
            if (cls == AlignerCommand.class) {
                return cls.cast(new AlignerCommand(out, err, System::getenv));
            }
            if (cls == RainCommand.class) {
                return cls.cast(new RainCommand(out, err));
            }
            if (cls == ModelOptions.class) {
                return cls.cast(new ModelOptions(err));
            }
            if (cls == ConvertCommand.class) {
                return cls.cast(new ConvertCommand(out, err));
            }
            if (cls == BenchCommand.class) {
                return cls.cast(new BenchCommand(out, err));
            }
            if (cls == EmbedCommand.class) {
                return cls.cast(new EmbedCommand(out, err));
            }
            if (cls == RainViewCommand.class) {
                return cls.cast(new RainViewCommand(out));
            }
            return CommandLine.defaultFactory().create(cls);
        }
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = RewindCli.class.getPackage().getImplementationVersion();
            return new String[]{"rewind " + (v == null ? "(development build)" : v) + ", Java " + Runtime.version()};
        }
    }
}
