package dev.convlens.viz.cli;

import dev.convlens.models.zoo.SmallNets;
import dev.convlens.nn.Graph;
import dev.convlens.nn.train.Dataset;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/** {@code convlens train}: train a small network (or an ONNX model) from its current weights. */
@Command(name = "train",
        usageHelpWidth = 100,
        sortOptions = false,
        mixinStandardHelpOptions = true,
        description = {
            "Train an image classifier with softmax cross-entropy: a small built-in network (--arch) from seeded random "
                    + "weights, or an ONNX model (--model) from its weights.",
            "",
            "Each epoch shows a progress bar (images/s, loss, ETA) on stderr, then writes to --out: curves.csv and "
                    + "curves.png (train and test loss and accuracy), confusion.csv and confusion.png (test set), and "
                    + "checkpoint.ckpt (atomic, checksummed: weights, optimizer state, epoch, seed). At the end: model.onnx "
                    + "and classes.txt (for convlens predict --labels). --resume continues a stopped run.",
            "",
            "Examples:",
            "  convlens train --arch alexnet-small --data fashion-mnist --epochs 2 --batch 64 --lr 0.01 --optimizer sgd --seed 1 --out runs/a",
            "  convlens train --arch resnet-small --data fashion-mnist --epochs 10 --optimizer adamw --lr 0.003 --out runs/r --resume",
            ""},
        footerHeading = "%nExit codes:%n",
        footer = Main.EXIT_CODES)
final class Train implements Callable<Integer> {
    static final class Source {
        @Option(names = "--arch", paramLabel = "NAME", description = "A built-in network: " + SmallNets.ALEXNET + " or " + SmallNets.RESNET + ".")
        String arch;
        @Option(names = "--model", paramLabel = "FILE.onnx", description = "An ONNX model to train further (its output must have one score per class).")
        Path model;
    }

    @ParentCommand Main main;
    @Spec CommandSpec spec;
    @Mixin TrainingOptions opts;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Source source;

    @Option(names = "--size", defaultValue = "28", paramLabel = "N", description = "Image folders: images resized to N x N (default: ${DEFAULT-VALUE}).")
    int size;

    @Override
    public Integer call() {
        opts.validate(spec);
        if (source.arch != null && !source.arch.equals(SmallNets.ALEXNET) && !source.arch.equals(SmallNets.RESNET)) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--arch must be " + SmallNets.ALEXNET + " or "
                    + SmallNets.RESNET + ", not '" + source.arch + "'");
        }
        if (size < 4) throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--size must be at least 4");
        return opts.guarded("train", main.err, () -> {
            Dataset.Split data = opts.loadData(opts.fashionMnist() || opts.digits() ? 28 : size, main.err);
            Graph g = source.arch != null
                    ? SmallNets.build(source.arch, data.train().c(), data.train().h(), data.train().classes().size(), opts.seed)
                    : TrainingOptions.loadOnnx(source.model);
            return opts.train("train", g, data, main.out, main.err);
        });
    }
}
