package dev.convlens.viz.cli;

import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * The {@code convlens} command: one subcommand per thing convlens does ({@code predict}, {@code train},
 * {@code finetune}, {@code saliency}, {@code deconv}, {@code occlusion}, {@code top9}, {@code filters},
 * {@code visualize}, {@code report}, {@code demo}).
 *
 * <p>Exit codes, the same for every subcommand: 0 success, 1 internal error, 2 usage error (bad
 * flag or value), 3 input error (a file that is missing, unreadable or malformed, or an input that
 * does not fit the model), 4 unsupported model (an ONNX operator or attribute convlens does not
 * implement). Tests call {@link #run}, which returns the code instead of exiting.
 */
@Command(name = "convlens",
        usageHelpWidth = 100,
        mixinStandardHelpOptions = true,
        version = "convlens 0.1.0",
        subcommands = {Predict.class, Train.class, Finetune.class, SaliencyCommand.class, DeconvCommand.class,
                OcclusionCommand.class, Top9Command.class, FiltersCommand.class, VisualizeCommand.class,
                ReportCommand.class, DemoCommand.class, Experiment.class, BenchCommand.class, DevicesCommand.class,
                CommandLine.HelpCommand.class},
        description = {
            "Pure-Java CNNs: run, train and look inside ONNX image classifiers.",
            "",
            "Example:",
            "  convlens demo                    (every visualization on the shipped models, one HTML page)",
            "  convlens predict --model resnet18.onnx --image cat.jpg --top 5",
            "  convlens train --arch alexnet-small --data fashion-mnist --epochs 2 --out runs/a",
            "  convlens occlusion --model resnet18.onnx --image cat.jpg --layer layer4 --out occ/",
            "  convlens top9 --model resnet18.onnx --images photos/ --layer layer3 --first 8 --out top/",
            "  convlens filters --model resnet18.onnx --out filters/",
            "  convlens visualize --model resnet18.onnx --objective class --target 281 --out am/",
            "  convlens help predict"},
        footerHeading = "%nExit codes:%n",
        footer = Main.EXIT_CODES)
public final class Main implements Runnable {
    public static final int OK = 0, INTERNAL = 1, USAGE = 2, INPUT = 3, UNSUPPORTED = 4;
    static final String EXIT_CODES = "  0  success%n"
            + "  1  internal error (a bug: run again with --verbose and report the stack trace)%n"
            + "  2  usage error: unknown flag, missing or bad value%n"
            + "  3  input error: a file is missing, unreadable or malformed, or the input does not fit the model%n"
            + "  4  unsupported model: an ONNX operator or attribute convlens does not implement";

    @Spec CommandSpec spec;

    /** Where results go (stdout in the real command). */
    final PrintStream out;
    /** Where notes, errors and usage go (stderr in the real command). */
    final PrintStream err;

    Main(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
    }

    @Override
    public void run() {
        throw new ParameterException(spec.commandLine(), "Missing subcommand: try 'convlens predict --help'");
    }

    /** A usage error: the message, the synopsis and where to read more; not the whole help. */
    private static int usageError(ParameterException e, String[] args) {
        CommandLine cmd = e.getCommandLine();
        PrintWriter err = cmd.getErr();
        err.println(cmd.getCommandSpec().qualifiedName() + ": " + e.getMessage());
        CommandLine.UnmatchedArgumentException.printSuggestions(e, err);
        err.print("Usage: " + cmd.getHelp().synopsis("Usage: ".length()));
        err.println("Try '" + cmd.getCommandSpec().qualifiedName() + " --help' for more information.");
        err.flush();
        return USAGE;
    }

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    /** Runs the command line {@code args}, printing to {@code out} and {@code err}, and returns the exit code. */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        CommandLine cl = new CommandLine(new Main(out, err));
        cl.setOut(new PrintWriter(new java.io.OutputStreamWriter(out, StandardCharsets.UTF_8), true));
        cl.setErr(new PrintWriter(new java.io.OutputStreamWriter(err, StandardCharsets.UTF_8), true));
        cl.setParameterExceptionHandler(Main::usageError);
        int code = cl.execute(args);
        out.flush();
        err.flush();
        return code;
    }
}
