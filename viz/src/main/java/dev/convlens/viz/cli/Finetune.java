package dev.convlens.viz.cli;

import dev.convlens.models.zoo.Heads;
import dev.convlens.nn.Graph;
import dev.convlens.nn.train.Dataset;
import dev.convlens.nn.train.Trainer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/** {@code convlens finetune}: transfer learning from an ONNX model. */
@Command(name = "finetune",
        usageHelpWidth = 100,
        sortOptions = false,
        mixinStandardHelpOptions = true,
        description = {
            "Transfer learning: load an ONNX classifier, replace its last Linear layer (or the last two, AlexNet/VGG "
                    + "style) with fresh ones sized for the classes of --data, freeze what you name, and train.",
            "",
            "--freeze PREFIX freezes every parameter whose name starts with PREFIX (repeatable; e.g. layer1. or features.); "
                    + "--freeze-body freezes everything but the new head (\"retrain only the softmax\"). Outputs as convlens train.",
            "",
            "Examples:",
            "  convlens finetune --model resnet18.onnx --data photos/ --replace-head 1 --freeze-body --epochs 5 --out runs/ft",
            "  convlens finetune --model alexnet.onnx --data photos/ --replace-head 2 --freeze features. --optimizer adam --out runs/ft2",
            ""},
        footerHeading = "%nExit codes:%n",
        footer = Main.EXIT_CODES)
final class Finetune implements Callable<Integer> {
    @ParentCommand Main main;
    @Spec CommandSpec spec;
    @Mixin TrainingOptions opts;

    @Option(names = "--model", required = true, paramLabel = "FILE.onnx", description = "The pretrained ONNX model (BN-preserving exports keep BN trainable).")
    Path model;

    @Option(names = "--replace-head", defaultValue = "1", paramLabel = "1|2",
            description = "How many of the last Linear layers to replace (default: ${DEFAULT-VALUE}).")
    int replaceHead;

    @Option(names = "--freeze", paramLabel = "PREFIX", description = "Freeze parameters whose names start with PREFIX (repeatable).")
    List<String> freeze = new ArrayList<>();

    @Option(names = "--freeze-body", description = "Freeze every parameter but the replaced head.")
    boolean freezeBody;

    @Option(names = "--size", defaultValue = "224", paramLabel = "N", description = "Images resized to N x N (default: ${DEFAULT-VALUE}).")
    int size;

    @Override
    public Integer call() {
        opts.validate(spec);
        if (replaceHead != 1 && replaceHead != 2) throw new ParameterException(spec.commandLine(), "--replace-head must be 1 or 2, not " + replaceHead);
        if (size < 4) throw new ParameterException(spec.commandLine(), "--size must be at least 4");
        return opts.guarded("finetune", main.err, () -> {
            Graph pre = TrainingOptions.loadOnnx(model);
            Dataset.Split data = opts.loadData(opts.fashionMnist() || opts.digits() ? 28 : size, main.err);
            int classes = data.train().classes().size();
            Graph g;
            try {
                if (freezeBody) pre.freezePrefix("");
                g = replaceHead == 1 ? Heads.replaceLast(pre, classes, opts.seed) : Heads.replaceLastTwo(pre, classes, opts.seed);
            } catch (IllegalArgumentException e) {
                throw new TrainingOptions.Failure(Main.UNSUPPORTED, model + ": " + e.getMessage(), e);
            }
            for (String p : freeze) {
                if (g.freezePrefix(p) == 0) {
                    throw new TrainingOptions.Failure(Main.INPUT, "--freeze " + p + ": no parameter of " + model + " starts with it", null);
                }
            }
            main.err.println("convlens: finetune: training " + Trainer.learnable(g) + (g.frozen.isEmpty() ? "" : "; "
                    + g.frozen.size() + " parameter tensors frozen"));
            return opts.train("finetune", g, data, main.out, main.err);
        });
    }
}
