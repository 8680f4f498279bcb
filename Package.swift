// swift-tools-version:6.0
import PackageDescription

// The BLAS library is a build option chosen through pkg-config: SMTL_BLAS names the package
// (default `openblas`, Debian's libopenblas-dev). `SMTL_BLAS=blis PKG_CONFIG_PATH=$PWD/Sources/CBLAS`
// builds against Debian's BLIS; a newer OpenBLAS built from source is `PKG_CONFIG_PATH=its
// lib/pkgconfig`. docs/performance.md, "Choosing the BLAS library".
let blasPackage = Context.environment["SMTL_BLAS"] ?? "openblas"

let package = Package(
    name: "smtl",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "smtl", targets: ["smtl"]),
        .library(name: "SMTL", targets: ["SMTL"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-numerics", from: "1.1.0"),
    ],
    targets: [
        // System libraries at the edge: a BLAS (OpenBLAS by default) for every matrix product, zlib for .gz data,
        // OpenMPI for the distributed trainer.
        .systemLibrary(
            name: "CBLAS", path: "Sources/CBLAS", pkgConfig: blasPackage,
            providers: [.apt([blasPackage == "blis" ? "libblis-dev" : "libopenblas-dev"])]),
        .systemLibrary(
            name: "CZlib", path: "Sources/CZlib", pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(
            name: "CMPI", path: "Sources/CMPI", pkgConfig: "ompi-c",
            providers: [.apt(["libopenmpi-dev"])]),
        // The memory block's per-token loops in C, compiled for baseline x86-64, AVX2 and AVX-512 and
        // chosen at run time (Numerics/MemoryKernels.swift).
        .target(name: "CKernels", path: "Sources/CKernels"),
        .target(
            name: "SMTL",
            dependencies: ["CBLAS", "CZlib", "CMPI", "CKernels", .product(name: "RealModule", package: "swift-numerics")]),
        .executableTarget(
            name: "smtl",
            dependencies: ["SMTL", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        // Fuzz targets of the input readers (launch/fuzz builds them with libFuzzer; a plain build
        // replays corpus files).
        .executableTarget(name: "smtl-fuzz", dependencies: ["SMTL"], swiftSettings: [.unsafeFlags(["-parse-as-library"])]),
        // Tests: the shared fixtures and process helpers; the fast in-process target (maths, gradient
        // checks, ranks as threads, config and data errors); the integration target (mpirun, netns
        // hosts, Slurm, launch scripts, fuzz builds, other BLAS builds).
        .target(name: "TestSupport", dependencies: ["SMTL"], path: "Tests/TestSupport"),
        .testTarget(name: "FastTests", dependencies: ["SMTL", "TestSupport"]),
        .testTarget(name: "IntegrationTests", dependencies: ["SMTL", "TestSupport"]),
    ],
    swiftLanguageModes: [.v5]
)
