// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "NGPlus",
    products: [
        .library(name: "NGKernels", targets: ["NGKernels"]),
        .library(name: "NGPlus", targets: ["NGPlus"]),
        .library(name: "NGTrain", targets: ["NGTrain"]),
        .library(name: "NGDistributed", targets: ["NGDistributed"]),
        .executable(name: "ngbench", targets: ["ngbench"]),
    ],
    dependencies: [
        // The command-line interface of ngbench only.
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // `swift package generate-documentation` (scripts/docs): the DocC catalogs of the four
        // library modules. A plugin, linked into nothing.
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.4.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev", "liblapacke-dev"])]
        ),
        // CPUID and XGETBV: what the processor offers, for choosing OpenBLAS's kernels.
        .target(name: "CCPUID"),
        // The platform under the kernels: the CPU, the OpenBLAS build and the kernels it runs,
        // whether they fit, the re-execution with fitting ones, the warning. Computes nothing.
        .target(name: "NGPlatform", dependencies: ["CBLAS", "CCPUID"]),
        // Float's exponential and error function, and the loops over them compiled for each
        // x86-64 vector level (Swift compiles for the baseline only).
        .target(name: "CFloatMath"),
        .target(name: "NGKernels", dependencies: ["CBLAS", "CFloatMath", "NGPlatform"]),
        .target(name: "NGPlus", dependencies: ["NGKernels"]),
        .systemLibrary(name: "CZlib", providers: [.apt(["zlib1g-dev"])]),
        .target(name: "NGTrain", dependencies: ["NGPlus", "CZlib"]),
        // Open MPI (Debian's libopenmpi-dev): the transport of data-parallel training.
        .systemLibrary(name: "CMPI", pkgConfig: "ompi-c", providers: [.apt(["libopenmpi-dev"])]),
        .target(name: "NGDistributed", dependencies: ["NGPlus", "CMPI"]),
        .executableTarget(
            name: "ngbench",
            dependencies: [
                // CBLAS directly only for the raw cblas_sgemm/dgemm baseline every figure is
                // measured against; all other work goes through NGKernels.
                "CBLAS",
                "NGKernels",
                "NGPlus",
                "NGTrain",
                "NGDistributed",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Benchmarks/ngbench"
        ),
        // The libFuzzer targets (scripts/fuzz): the checkpoint loader and the IDX reader given
        // hostile bytes; ngfuzz replays files through them without the fuzzer.
        .target(name: "NGFuzzTargets", dependencies: ["NGPlus", "NGTrain", "CZlib"], path: "Fuzz/NGFuzzTargets"),
        .executableTarget(name: "ngfuzz", dependencies: ["NGFuzzTargets"], path: "Fuzz/ngfuzz"),
        // Double-precision references written with plain loops, and seeded random data.
        .target(name: "NGTestSupport", dependencies: ["NGKernels"], path: "Tests/NGTestSupport"),
        .testTarget(name: "NGKernelsTests", dependencies: ["NGKernels", "NGTestSupport"]),
        // Counts heap allocations per thread (interposes malloc in the test executable only).
        .target(name: "NGAllocationCounter", path: "Tests/NGAllocationCounter"),
        .testTarget(name: "NGPlusTests", dependencies: ["NGPlus", "NGTestSupport", "NGAllocationCounter"]),
        // ngbench run as a child process: its kernel selection, end to end.
        .testTarget(name: "NGBenchTests", dependencies: ["ngbench", "NGKernels"]),
        // The committed fuzzing corpus replayed, and the seeds checked against what the
        // package writes today.
        .testTarget(name: "FuzzCorpusTests", dependencies: ["NGFuzzTargets"]),
        // The same-answer and failure checks of data-parallel training, run under mpirun by
        // NGDistributedTests.
        .executableTarget(
            name: "ngdistcheck", dependencies: ["NGDistributed", "NGTrain", "NGAllocationCounter"], path: "Tests/ngdistcheck"),
        .testTarget(name: "NGDistributedTests", dependencies: ["ngdistcheck"]),
        // Counts calls into the Swift runtime's paths of unspecialized code (interposes four
        // of its functions in the test executable only).
        .target(name: "NGRuntimeCallCounter", path: "Tests/NGRuntimeCallCounter"),
        .testTarget(
            name: "NGTrainTests",
            dependencies: ["NGTrain", "NGTestSupport", "CZlib", "NGAllocationCounter", "NGRuntimeCallCounter"]),
    ]
)
