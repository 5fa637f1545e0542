package dev.convlens.viz.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/**
 * {@code convlens experiment NAME}: the studies convlens reproduces end to end, each one command
 * that trains, visualizes and writes its figures and numbers (docs/tutorial/ explains each).
 * Every experiment takes {@code --quick} for a shortened run (few steps, few images) that tests use.
 */
@Command(name = "experiment",
        mixinStandardHelpOptions = true,
        subcommands = {ZeilerFergusCommand.class, ResnetInitCommand.class, TransferSaliencyCommand.class,
            CommandLine.HelpCommand.class},
        description = {"Reproduce a published study end to end: training, figures and numbers in one folder.",
            "Each experiment is explained, with its figures and measured numbers, in docs/tutorial/."})
final class Experiment implements Runnable {
    @ParentCommand Main main;
    @Spec CommandSpec spec;

    @Override
    public void run() {
        throw new ParameterException(spec.commandLine(), "Missing experiment: try 'convlens experiment --help'");
    }
}
