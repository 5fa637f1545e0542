package dev.convlens.viz.cli;

import dev.convlens.nn.Graph;
import dev.convlens.tensor.Tensor;
import dev.convlens.tensor.kernels.Backend;
import dev.convlens.tensor.kernels.Kernels;
import dev.convlens.tensor.ops.Relu;
import dev.convlens.viz.Saliency;
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

/** {@code convlens saliency}: which pixels the score of one class is sensitive to (see {@link Saliency}). */
@Command(name = "saliency",
        usageHelpWidth = 100,
        sortOptions = false,
        mixinStandardHelpOptions = true,
        description = {
            "Saliency map of one class score (the logit, before softmax) for one image.",
            "",
            "Methods: vanilla (Simonyan et al. 2014: the gradient; --rule guided gives guided backpropagation), "
                    + "smoothgrad (Smilkov et al. 2017), ig (integrated gradients, Sundararajan et al. 2017, midpoint "
                    + "Riemann sum from a zero baseline), gradcam and guided-gradcam (Selvaraju et al. 2017) at --layer.",
            "",
            "Examples:",
            "  convlens saliency --model resnet18.onnx --image cat.jpg --out maps/",
            "  convlens saliency --model resnet18.onnx --image cat.jpg --method gradcam --layer layer4 --out maps/",
            "  convlens saliency --model resnet18.onnx --input x.npy --method ig --steps 64 --save arrays/",
            ""},
        footerHeading = "%nExit codes:%n",
        footer = Main.EXIT_CODES)
final class SaliencyCommand implements Callable<Integer> {
    @ParentCommand Main main;
    @Spec CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "FILE.onnx", description = "The ONNX model.")
    Path model;

    @ArgGroup(exclusive = true, multiplicity = "1")
    VizSupport.Source source;

    @Option(names = "--target", paramLabel = "K", description = "The class (default: the top-1 class).")
    Integer target;

    @Option(names = "--method", paramLabel = "NAME", defaultValue = "vanilla",
            description = "vanilla, smoothgrad, ig, gradcam or guided-gradcam (default: ${DEFAULT-VALUE}).")
    String method;

    @Option(names = "--rule", paramLabel = "RULE", defaultValue = "gradient",
            description = "vanilla only: what ReLUs do going down: gradient, deconvnet or guided (default: ${DEFAULT-VALUE}).")
    String rule;

    @Option(names = "--layer", paramLabel = "NAME",
            description = "Grad-CAM layer: a value, node or module path such as layer4 or features.11 (required for gradcam methods).")
    String layer;

    @Option(names = "--samples", paramLabel = "N", defaultValue = "25", description = "SmoothGrad: noisy copies (default: ${DEFAULT-VALUE}).")
    int samples;

    @Option(names = "--sigma", paramLabel = "S", defaultValue = "0.15",
            description = "SmoothGrad: noise std as a fraction of the input's max - min (default: ${DEFAULT-VALUE}).")
    float sigma;

    @Option(names = "--steps", paramLabel = "N", defaultValue = "32", description = "Integrated gradients: steps (default: ${DEFAULT-VALUE}).")
    int steps;

    @Option(names = "--seed", paramLabel = "N", defaultValue = "0", description = "SmoothGrad: noise seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--out", paramLabel = "DIR", description = "Write heatmap.png, overlay.png and gradient.png into DIR.")
    Path out;

    @Option(names = "--save", paramLabel = "DIR",
            description = "Write saliency.npy (the input-space signal, (1,C,H,W)) and saliency_map.npy ((H,W)) into DIR.")
    Path save;

    @Option(names = "--threads", paramLabel = "N", description = "Threads for the simd kernels (default: all cores).")
    Integer threads;

    @Option(names = "--verbose", description = "Print stack traces on errors.")
    boolean verbose;

    @picocli.CommandLine.Mixin ModelChecks checks;

    static Relu.Rule rule(CommandSpec spec, String name) {
        try {
            return Relu.Rule.valueOf(name.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), "--rule must be gradient, deconvnet or guided, got '" + name + "'");
        }
    }

    @Override
    public Integer call() {
        Relu.Rule r = rule(spec, rule);
        String m = method.toLowerCase(Locale.ROOT);
        if (!java.util.List.of("vanilla", "smoothgrad", "ig", "gradcam", "guided-gradcam").contains(m)) {
            throw new ParameterException(spec.commandLine(), "--method must be vanilla, smoothgrad, ig, gradcam or guided-gradcam, got '" + method + "'");
        }
        if (m.contains("gradcam") && layer == null) throw new ParameterException(spec.commandLine(), "--method " + m + " needs --layer");
        if (samples < 1 || steps < 1 || sigma < 0) throw new ParameterException(spec.commandLine(), "--samples and --steps must be >= 1, --sigma >= 0");
        if (target != null && target < 0) throw new ParameterException(spec.commandLine(), "--target must be >= 0");
        if (threads != null && threads < 1) throw new ParameterException(spec.commandLine(), "--threads must be at least 1");
        return VizSupport.guard("saliency", main.err, verbose, () -> {
            Graph g = VizSupport.load(model, checks);
            Tensor x = checks.input(VizSupport.input(source, main.err), source);
            Kernels k = Backend.select("simd", threads != null ? threads : Runtime.getRuntime().availableProcessors());
            Saliency s = new Saliency(g, k);
            int t = target == null ? -1 : target;
            Saliency.Result res;
            try {
                res = switch (m) {
                    case "vanilla" -> s.backprop(x, t, r);
                    case "smoothgrad" -> s.smoothGrad(x, t, samples, sigma, seed);
                    case "ig" -> s.integratedGradients(x, t, steps, null);
                    case "gradcam" -> s.gradCam(x, t, layer);
                    default -> s.guidedGradCam(x, t, layer);
                };
            } catch (IllegalArgumentException e) {
                throw new Predict.Failure(e.getMessage().startsWith("LayerRef") ? Main.USAGE : Main.INPUT, e.getMessage(), e);
            }
            if (save != null) {
                VizSupport.save(save, "saliency.npy", res.gradient());
                VizSupport.save(save, "saliency_map.npy", res.map());
            }
            if (out != null) Saliency.writePngs(out, x, res);
            main.out.printf(Locale.ROOT, "saliency %s: class %d (score %.4f)%n", res.method(), res.target(), res.score());
        });
    }
}
