import Foundation
import XCTest
import TestSupport
@testable import SMTLData
@testable import SMTLDistribution
@testable import SMTLModel
@testable import SMTLStudy
@testable import SMTLSupport
@testable import SMTLTraining

/// A small simulated cluster on one machine: two network namespaces joined by veth pairs to a
/// bridge, each with its own address. mpirun reads a hostfile naming those addresses and starts
/// the remote ranks through an rsh agent that runs the command with `ip netns exec` in the right
/// namespace instead of ssh. TCP is pinned to the test subnet and shared memory is off, so the
/// ranks talk over TCP between separate network addresses. The test makes and removes its
/// namespaces itself and uses only addresses inside them.
final class MultiHostTests: MPITestCase {
    let tag = String(getpid() % 100_000)
    var namespaces: [String] { ["smtl\(tag)a", "smtl\(tag)b"] }
    let addresses = ["10.77.0.1", "10.77.0.2"]
    var bridge: String { "smtlbr\(tag)" }

    func sh(_ command: String) throws {
        let (status, text) = try run("/bin/sh", ["-c", command])
        if status != 0 { throw XCTSkip("cannot build the test network (\(command)): \(text)") }
    }

    func buildNetwork() throws {
        guard getuid() == 0 else { throw XCTSkip("network namespaces need root") }
        guard
            FileManager.default.isExecutableFile(atPath: "/usr/sbin/ip")
                || FileManager.default.isExecutableFile(atPath: "/sbin/ip")
        else {
            throw XCTSkip("no `ip` (iproute2)")
        }
        try sh("ip link add \(bridge) type bridge && ip link set \(bridge) up")
        for (i, ns) in namespaces.enumerated() {
            let veth = "\(bridge)v\(i)"
            try sh(
                """
                ip netns add \(ns) && ip link add \(veth) type veth peer name eth0 netns \(ns) && \
                ip link set \(veth) master \(bridge) && ip link set \(veth) up && \
                ip netns exec \(ns) ip addr add \(addresses[i])/24 dev eth0 && \
                ip netns exec \(ns) ip link set eth0 up && ip netns exec \(ns) ip link set lo up
                """)
        }
    }

    override func tearDown() {
        for (i, ns) in namespaces.enumerated() {
            // A "remote" daemon that lost its mpirun (the partition test) would outlive its host.
            _ = try? run("/bin/sh", ["-c", "ip netns pids \(ns) | xargs -r kill -9"])
            _ = try? run("/bin/sh", ["-c", "ip netns del \(ns); ip link del \(bridge)v\(i)"])
        }
        _ = try? run("/bin/sh", ["-c", "ip link del \(bridge)"])
        super.tearDown()
    }

    /// The rsh agent that runs a "remote" command in the namespace owning the host address, the
    /// hostfile of the two hosts, and mpirun's options that keep TCP on the test subnet.
    func clusterFiles(_ dir: String) -> (hostfile: String, net: [String]) {
        let agent = writeFile(
            dir, "ns-agent.sh",
            """
            #!/bin/sh
            # rsh agent: run the "remote" command in the namespace that owns the host address.
            while [ $# -gt 0 ]; do case "$1" in -*) shift ;; *) break ;; esac; done
            host="$1"; shift
            case "$host" in
              \(addresses[0])) ns=\(namespaces[0]) ;;
              \(addresses[1])) ns=\(namespaces[1]) ;;
              *) echo "ns-agent: unknown host $host" >&2; exit 1 ;;
            esac
            exec ip netns exec "$ns" /bin/sh -c "$*"
            """)
        chmod(agent, 0o755)
        let hostfile = writeFile(dir, "hostfile", addresses.map { "\($0) slots=2" }.joined(separator: "\n") + "\n")
        let net = [
            "--mca", "plm_rsh_agent", agent, "--mca", "btl", "tcp,self",
            "--mca", "btl_tcp_if_include", "10.77.0.0/24", "--mca", "oob_tcp_if_include", "10.77.0.0/24",
        ]
        return (hostfile, net)
    }

    func testTrainingOverTCPBetweenNamespaces() throws {
        let mpirun = try requireMPI()
        defer { tearDown() }
        try buildNetwork()
        let dir = Paths.temporaryDirectory()
        let (hostfile, net) = clusterFiles(dir)
        let cfg = Fixture.fourTasks(dir)
        // Where do the ranks run? One address each, alternating.
        let (_, where_) = try run(
            "/usr/sbin/ip",
            [
                "netns", "exec", namespaces[0], mpirun, "--hostfile", hostfile, "-np", "4",
                "--map-by", "node",
            ] + net + ["/bin/sh", "-c", "ip -o -4 addr show eth0"])
        XCTAssertTrue(where_.contains(addresses[0]) && where_.contains(addresses[1]), where_)
        let (status, text) = try run(
            "/usr/sbin/ip",
            [
                "netns", "exec", namespaces[0], mpirun, "--hostfile", hostfile, "-np", "4",
                "--map-by", "node",
            ] + net
                + [Self.binary, "train", "--config", cfg, "--data-dir", Paths.sharedData, "--out", dir + "/cluster"])
        XCTAssertEqual(status, 0, text)
        _ = try train(nil, ranks: 1, cfg, out: dir + "/one")
        let w = worst(try tensors(dir + "/cluster"), try tensors(dir + "/one"))
        print("two hosts over TCP, 4 ranks: worst relative difference to one process \(w)")
        XCTAssertLessThanOrEqual(w, 1e-5)
    }

    /// A network partition between the two hosts in the middle of training: the watchdog ends
    /// the job within the collective timeout, with its message, instead of leaving ranks waiting.
    func testPartitionEndsTheJob() throws {
        let mpirun = try requireMPI()
        defer { tearDown() }
        try buildNetwork()
        let dir = Paths.temporaryDirectory()
        let (hostfile, net) = clusterFiles(dir)
        let cfg = Fixture.fourTasks(dir, steps: 100_000, extra: #", "checkpoint_every": 20"#)
        let log = dir + "/job.log"
        let command =
            (["ip", "netns", "exec", namespaces[0], mpirun, "--hostfile", hostfile, "-np", "2", "--map-by", "node"]
            + net
            + [
                Self.binary, "train", "--config", cfg, "--data-dir", Paths.sharedData, "--out", dir + "/out",
                "--collective-timeout", "3",
            ]).joined(separator: " ")
        let (job, _) = try start("/bin/sh", ["-c", command + " > " + log + " 2>&1"])
        waitFor(dir + "/out/checkpoints/step-00000020")
        // Cut host b off the bridge.
        let cut = Date()
        try sh("ip link set \(bridge)v1 down")
        // The rank processes only (mpirun and the shell carry the same words further on).
        func ranksAlive() -> Bool {
            ((try? run("/usr/bin/pgrep", ["-f", "^" + Self.binary + " train --config " + cfg]))?.0 ?? 1) == 0
        }
        var message = ""
        while Date().timeIntervalSince(cut) < 60 {
            message = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            if message.contains("over the collective timeout") && !ranksAlive() { break }
            usleep(200_000)
        }
        let seconds = Date().timeIntervalSince(cut)
        let alive = ranksAlive()
        // mpirun itself cannot reach the lost host's daemon; the rank beside it ends it after 20 s.
        while job.isRunning && Date().timeIntervalSince(cut) < 90 { usleep(200_000) }
        let mpirunSeconds = Date().timeIntervalSince(cut)
        let mpirunHung = job.isRunning
        _ = try? run("/usr/bin/pkill", ["-9", "-f", hostfile])
        job.waitUntilExit()
        print("a partition between two hosts: mpirun ended after \(mpirunSeconds) s")
        XCTAssertFalse(mpirunHung, "mpirun still running 90 s after the partition")
        XCTAssertTrue(message.contains("did not answer within"), message)
        print("a partition between two hosts: the watchdog ended the ranks after \(seconds) s")
        XCTAssertTrue(
            message.contains("over the collective timeout of 3 s") || message.contains("timeout of 30 s"), message)
        XCTAssertFalse(alive, "ranks still running 60 s after the partition")
    }
}
