package dev.convlens.viz.cli;

import dev.convlens.nn.Graph;
import dev.convlens.tensor.Tensor;
import dev.convlens.tensor.kernels.Backend;
import dev.convlens.tensor.kernels.Kernels;
import dev.convlens.tensor.ops.Relu;
import dev.convlens.viz.Deconvnet;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/** {@code convlens deconv}: one activation projected back to pixel space (see {@link Deconvnet}). */
@Command(name = "deconv",
        usageHelpWidth = 100,
        sortOptions = false,
        mixinStandardHelpOptions = true,
        description = {
            "Project one activation of a layer back to pixel space (Zeiler & Fergus 2014): all other activations "
                    + "of the layer set to 0, the chosen one seeded with its own value, sent down with the deconvnet "
                    + "rule (or guided backpropagation, or the plain gradient).",
            "",
            "Default unit: the layer's largest activation. --channel C: the strongest unit of channel C; "
                    + "--channel C --unit Y,X: that unit; --channel C --whole-channel: the whole feature map.",
            "",
            "Examples:",
            "  convlens deconv --model resnet18.onnx --image cat.jpg --layer layer3 --out proj/",
            "  convlens deconv --model alexnet.onnx --image cat.jpg --layer features.9 --channel 12 --rule guided --out proj/",
            ""},
        footerHeading = "%nExit codes:%n",
        footer = Main.EXIT_CODES)
final class DeconvCommand implements Callable<Integer> {
    @ParentCommand Main main;
    @Spec CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "FILE.onnx", description = "The ONNX model.")
    Path model;

    @ArgGroup(exclusive = true, multiplicity = "1")
    VizSupport.Source source;

    @Option(names = "--layer", required = true, paramLabel = "NAME",
            description = "A value, node or module path such as layer3, layer3.1 or features.8.")
    String layer;

    @Option(names = "--channel", paramLabel = "C", description = "The channel (default: the one holding the largest activation).")
    Integer channel;

    @Option(names = "--unit", paramLabel = "Y,X", description = "The unit of --channel (default: its strongest).")
    String unit;

    @Option(names = "--whole-channel", description = "Project the whole feature map of --channel.")
    boolean wholeChannel;

    @Option(names = "--rule", paramLabel = "RULE", defaultValue = "deconvnet",
            description = "deconvnet, guided or gradient (default: ${DEFAULT-VALUE}).")
    String rule;

    @Option(names = "--out", paramLabel = "DIR", description = "Write projection.png into DIR.")
    Path out;

    @Option(names = "--save", paramLabel = "DIR", description = "Write projection.npy ((1,C,H,W)) into DIR.")
    Path save;

    @Option(names = "--threads", paramLabel = "N", description = "Threads for the simd kernels (default: all cores).")
    Integer threads;

    @Option(names = "--verbose", description = "Print stack traces on errors.")
    boolean verbose;

    @picocli.CommandLine.Mixin ModelChecks checks;

    @Override
    public Integer call() {
        Relu.Rule r = SaliencyCommand.rule(spec, rule);
        if ((unit != null || wholeChannel) && channel == null) {
            throw new ParameterException(spec.commandLine(), (unit != null ? "--unit" : "--whole-channel") + " needs --channel");
        }
        if (unit != null && wholeChannel) throw new ParameterException(spec.commandLine(), "--unit and --whole-channel exclude each other");
        if (channel != null && channel < 0) throw new ParameterException(spec.commandLine(), "--channel must be >= 0");
        if (threads != null && threads < 1) throw new ParameterException(spec.commandLine(), "--threads must be at least 1");
        Deconvnet.Unit u = Deconvnet.Unit.strongest();
        if (channel != null) u = wholeChannel ? Deconvnet.Unit.wholeChannel(channel) : Deconvnet.Unit.strongestIn(channel);
        if (unit != null) {
            String[] yx = unit.split(",");
            try {
                if (yx.length != 2) throw new NumberFormatException();
                u = Deconvnet.Unit.at(channel, Integer.parseInt(yx[0].strip()), Integer.parseInt(yx[1].strip()));
            } catch (NumberFormatException e) {
                throw new ParameterException(spec.commandLine(), "--unit must be Y,X (two integers), got '" + unit + "'");
            }
            if (u.y() < 0 || u.x() < 0) throw new ParameterException(spec.commandLine(), "--unit must be non-negative");
        }
        Deconvnet.Unit ask = u;
        return VizSupport.guard("deconv", main.err, verbose, () -> {
            Graph g = VizSupport.load(model, checks);
            Tensor x = checks.input(VizSupport.input(source, main.err), source);
            Kernels k = Backend.select("simd", threads != null ? threads : Runtime.getRuntime().availableProcessors());
            Deconvnet.Projection p;
            try {
                p = new Deconvnet(g, k).project(x, layer, ask, r);
            } catch (IllegalArgumentException e) {
                throw new Predict.Failure(e.getMessage().startsWith("LayerRef") || e.getMessage().startsWith("Deconvnet")
                        ? Main.USAGE : Main.INPUT, e.getMessage(), e);
            }
            if (save != null) VizSupport.save(save, "projection.npy", p.projection());
            if (out != null) Deconvnet.writePng(out, p);
            Deconvnet.Unit v = p.unit();
            main.out.printf(Locale.ROOT, "deconv %s: layer %s, channel %d, %s, activation %.4f%n", r.name().toLowerCase(Locale.ROOT),
                    p.layer(), v.channel(), v.wholeChannel() ? "whole channel" : "unit (" + v.y() + "," + v.x() + ")", p.activation());
        });
    }
}
