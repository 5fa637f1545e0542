package dev.convlens.viz.cli;

/** The kernel layers a command's {@code --backend} accepts (names as {@code Backend.select} takes them). */
enum BackendName { reference, simd, opencl }
