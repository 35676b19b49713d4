// Ctrl-C (SIGINT) and SIGTERM during training: the first one sets a flag that the epoch loop checks between
// steps, so the step in flight finishes and the requested checkpoint and metrics are written before the trainer
// exits (status 130 or 143); a second one exits at once. The handler only stores to preallocated memory and
// calls write(2) and _exit(2), which are async-signal-safe.
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The signal received (0: none). Allocated before the handler is installed, never freed.
private let receivedSignal: UnsafeMutablePointer<sig_atomic_t> = {
    let p = UnsafeMutablePointer<sig_atomic_t>.allocate(capacity: 1)
    p.initialize(to: 0)
    return p
}()

/// The line the handler prints at the first signal, as bytes that need no allocation in the handler.
private let notice: UnsafeMutableBufferPointer<UInt8> = {
    let text = Array("\ninterrupted: finishing the current step and saving (interrupt again to quit at once)\n".utf8)
    let buffer = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: text.count)
    _ = buffer.initialize(from: text)
    return buffer
}()

/// Whether the handler prints `notice` (not on MPI ranks other than 0, which print nothing; Console.muted).
private let announce: UnsafeMutablePointer<sig_atomic_t> = {
    let p = UnsafeMutablePointer<sig_atomic_t>.allocate(capacity: 1)
    p.initialize(to: 1)
    return p
}()

private let handleInterrupt: @convention(c) (Int32) -> Void = { signal in
    if receivedSignal.pointee != 0 { _exit(128 + signal) }
    receivedSignal.pointee = sig_atomic_t(signal)
    if announce.pointee != 0 { _ = write(2, notice.baseAddress, notice.count) }
}

enum Interruption {
    /// Routes SIGINT and SIGTERM to the flag from now on.
    static func install() {
        _ = receivedSignal.pointee  // initialise the globals outside the handler
        _ = notice.count
        announce.pointee = Console.muted ? 0 : 1
        for signal in [SIGINT, SIGTERM] {
            var action = sigaction()
            #if os(Linux)
            action.__sigaction_handler.sa_handler = handleInterrupt
            #else
            action.__sigaction_u.__sa_handler = handleInterrupt
            #endif
            action.sa_flags = SA_RESTART
            sigemptyset(&action.sa_mask)
            sigaction(signal, &action, nil)
        }
        // A parent may have started us with these signals blocked (threads of a test runner, some job
        // launchers); they would then stay pending forever. Unblock them on this (the training) thread.
        var unblock = sigset_t()
        sigemptyset(&unblock)
        sigaddset(&unblock, SIGINT)
        sigaddset(&unblock, SIGTERM)
        pthread_sigmask(SIG_UNBLOCK, &unblock, nil)
    }

    /// The signal that asked the trainer to stop, nil while none has.
    static var signal: Int32? {
        let value = receivedSignal.pointee
        return value == 0 ? nil : Int32(value)
    }

    /// `SIGINT`, `SIGTERM`.
    static func name(_ signal: Int32) -> String {
        signal == SIGINT ? "SIGINT" : signal == SIGTERM ? "SIGTERM" : "signal \(signal)"
    }
}
