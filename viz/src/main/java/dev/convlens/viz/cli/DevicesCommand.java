package dev.convlens.viz.cli;

import dev.convlens.tensor.kernels.Backend;
import dev.convlens.tensor.opencl.OpenClKernels;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.ParentCommand;

/**
 * {@code convlens devices}: the kernel layers this JVM can run, the OpenCL devices it sees, and the
 * one {@code --backend opencl} would use.
 */
@Command(name = "devices",
        usageHelpWidth = 100,
        mixinStandardHelpOptions = true,
        description = {
            "Lists the kernel layers (reference, simd, opencl), every OpenCL device, and the one --backend opencl picks.",
            "The first GPU is picked, else the first accelerator, else the first CPU device;",
            "-Dconvlens.opencl.device=INDEX chooses another.",
            ""},
        footerHeading = "%nExit codes:%n",
        footer = Main.EXIT_CODES)
final class DevicesCommand implements Callable<Integer> {
    @ParentCommand Main main;

    @Override
    public Integer call() {
        main.out.println("reference: plain loops, always available");
        main.out.println("simd: " + (Backend.vectorApiPresent() ? "available (jdk.incubator.vector loaded), "
                + Runtime.getRuntime().availableProcessors() + " cores"
                : "not available (start the JVM with --add-modules jdk.incubator.vector); reference is used"));
        OpenClKernels.Survey survey = OpenClKernels.survey();
        List<String> all = survey.devices();
        if (all.isEmpty()) {
            main.out.println("opencl: " + survey.problem() + "; --backend opencl falls back to simd");
            return Main.OK;
        }
        main.out.println("opencl: " + all.size() + " device" + (all.size() == 1 ? "" : "s"));
        for (int i = 0; i < all.size(); i++) {
            main.out.println("  [" + i + "] " + all.get(i) + (i == survey.picked() ? "  <- picked" : ""));
        }
        if (survey.picked() < 0) {
            main.err.println("convlens devices: " + survey.problem());
            return Main.USAGE;
        }
        return Main.OK;
    }
}
