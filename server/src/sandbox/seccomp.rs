//! The system-call half of the sandbox: a seccomp allowlist for every thread of the process,
//! applied once the server has started. What a serving rampart calls is allowed (found by
//! tracing it through the attack suites, a reload and a drain, on SQLite and PostgreSQL);
//! anything else fails with `EPERM`. So there is no execve or execveat, fork, ptrace, mount,
//! bpf, process_vm_*, kexec, module loading, keyctl, namespace or identity change.
//!
//! Threads: `clone` is allowed only with `CLONE_THREAD` (threads, never processes), and
//! `clone3`, whose flags a filter cannot see, fails with `ENOSYS` so that the C library falls
//! back to `clone` (as Chromium's and Docker's filters do).

use std::collections::BTreeMap;

use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule, TargetArch,
};

/// Why the filter could not be applied.
#[derive(Debug, thiserror::Error)]
pub enum SeccompError {
    /// This architecture has no allowlist here.
    #[error("sandbox: no seccomp allowlist for this architecture")]
    Architecture,
    /// The filter could not be compiled (a bug: the allowlist is fixed).
    #[error("sandbox: seccomp filter: {0}")]
    Build(#[from] seccompiler::BackendError),
    /// The kernel refused it.
    #[error("sandbox: seccomp: {0}")]
    Apply(#[from] seccompiler::Error),
}

/// System calls allowed with any arguments.
const ALLOWED: &[i64] = &[
    // Reading, writing and closing what is open.
    libc::SYS_read,
    libc::SYS_write,
    libc::SYS_readv,
    libc::SYS_writev,
    libc::SYS_pread64,
    libc::SYS_pwrite64,
    libc::SYS_lseek,
    libc::SYS_close,
    libc::SYS_fsync,
    libc::SYS_fdatasync,
    libc::SYS_ftruncate,
    libc::SYS_fallocate,
    libc::SYS_fcntl,
    libc::SYS_flock,
    libc::SYS_dup,
    libc::SYS_dup3,
    libc::SYS_pipe2,
    // Files, within what Landlock allows: the store and its journal, certificates on reload.
    libc::SYS_openat,
    libc::SYS_newfstatat,
    libc::SYS_fstat,
    libc::SYS_statx,
    libc::SYS_fstatfs,
    libc::SYS_readlinkat,
    libc::SYS_faccessat,
    libc::SYS_faccessat2,
    libc::SYS_unlinkat,
    libc::SYS_renameat,
    libc::SYS_renameat2,
    libc::SYS_mkdirat,
    libc::SYS_getdents64,
    libc::SYS_getcwd,
    libc::SYS_fchmod,
    libc::SYS_fchown,
    // Sockets: accepting, the database, the service manager's notification socket.
    libc::SYS_accept4,
    libc::SYS_accept,
    libc::SYS_connect,
    libc::SYS_bind,
    libc::SYS_listen,
    libc::SYS_shutdown,
    libc::SYS_getsockname,
    libc::SYS_getpeername,
    libc::SYS_setsockopt,
    libc::SYS_getsockopt,
    libc::SYS_sendto,
    libc::SYS_recvfrom,
    libc::SYS_sendmsg,
    libc::SYS_recvmsg,
    libc::SYS_sendmmsg,
    libc::SYS_recvmmsg,
    libc::SYS_socketpair,
    // Waiting: epoll, eventfd, futexes, timers.
    libc::SYS_epoll_create1,
    libc::SYS_epoll_ctl,
    libc::SYS_epoll_pwait,
    libc::SYS_epoll_pwait2,
    libc::SYS_eventfd2,
    libc::SYS_ppoll,
    libc::SYS_futex,
    libc::SYS_nanosleep,
    libc::SYS_clock_nanosleep,
    libc::SYS_clock_gettime,
    libc::SYS_clock_getres,
    libc::SYS_gettimeofday,
    libc::SYS_sched_yield,
    libc::SYS_sched_getaffinity,
    libc::SYS_restart_syscall,
    // Passed here, answered ENOSYS by the filter installed before this one (module docs).
    libc::SYS_clone3,
    // Memory.
    libc::SYS_mmap,
    libc::SYS_munmap,
    libc::SYS_mprotect,
    libc::SYS_mremap,
    libc::SYS_madvise,
    libc::SYS_brk,
    libc::SYS_membarrier,
    // Threads and signals of this process.
    libc::SYS_set_robust_list,
    libc::SYS_get_robust_list,
    libc::SYS_rseq,
    libc::SYS_set_tid_address,
    libc::SYS_gettid,
    libc::SYS_getpid,
    libc::SYS_tgkill,
    libc::SYS_exit,
    libc::SYS_exit_group,
    libc::SYS_rt_sigaction,
    libc::SYS_rt_sigprocmask,
    libc::SYS_rt_sigreturn,
    libc::SYS_sigaltstack,
    // Facts about itself.
    libc::SYS_getrandom,
    libc::SYS_geteuid,
    libc::SYS_getuid,
    libc::SYS_getegid,
    libc::SYS_getgid,
    libc::SYS_uname,
    libc::SYS_prlimit64,
];

/// The same calls' older x86-64 forms, which the C library still uses there.
#[cfg(target_arch = "x86_64")]
const ALLOWED_X86_64: &[i64] = &[
    libc::SYS_open,
    libc::SYS_stat,
    libc::SYS_lstat,
    libc::SYS_readlink,
    libc::SYS_access,
    libc::SYS_unlink,
    libc::SYS_rename,
    libc::SYS_mkdir,
    libc::SYS_poll,
    libc::SYS_epoll_wait,
    libc::SYS_arch_prctl,
];
#[cfg(not(target_arch = "x86_64"))]
const ALLOWED_X86_64: &[i64] = &[];

fn arch() -> Result<TargetArch, SeccompError> {
    if cfg!(target_arch = "x86_64") {
        Ok(TargetArch::x86_64)
    } else if cfg!(target_arch = "aarch64") {
        Ok(TargetArch::aarch64)
    } else {
        Err(SeccompError::Architecture)
    }
}

/// `arg` equals `value` (32-bit compare).
fn arg_is(arg: u8, value: u64) -> Result<SeccompRule, SeccompError> {
    Ok(SeccompRule::new(vec![SeccompCondition::new(
        arg,
        SeccompCmpArgLen::Dword,
        SeccompCmpOp::Eq,
        value,
    )?])?)
}

/// The allowlist: what passes, with `EPERM` for the rest.
fn allowlist() -> Result<BpfProgram, SeccompError> {
    let mut rules: BTreeMap<i64, Vec<SeccompRule>> = ALLOWED
        .iter()
        .chain(ALLOWED_X86_64)
        .map(|&call| (call, Vec::new()))
        .collect();
    // Sockets of the families a server uses: Unix, IPv4, IPv6.
    let families = [libc::AF_UNIX, libc::AF_INET, libc::AF_INET6];
    rules.insert(
        libc::SYS_socket,
        families
            .iter()
            .map(|&f| arg_is(0, f as u64))
            .collect::<Result<_, _>>()?,
    );
    // Threads only: CLONE_THREAD set.
    let thread = libc::CLONE_THREAD as u64;
    rules.insert(
        libc::SYS_clone,
        vec![SeccompRule::new(vec![SeccompCondition::new(
            0,
            SeccompCmpArgLen::Qword,
            SeccompCmpOp::MaskedEq(thread),
            thread,
        )?])?],
    );
    // Thread names, and reading whether no_new_privs is set.
    rules.insert(
        libc::SYS_prctl,
        vec![
            arg_is(0, libc::PR_SET_NAME as u64)?,
            arg_is(0, libc::PR_GET_NAME as u64)?,
            arg_is(0, libc::PR_GET_NO_NEW_PRIVS as u64)?,
        ],
    );
    // Non-blocking and close-on-exec flags, bytes waiting, and "is this a terminal".
    rules.insert(
        libc::SYS_ioctl,
        [libc::FIONBIO, libc::FIOCLEX, libc::FIONREAD, libc::TCGETS]
            .iter()
            // The request's type is the C library's (`c_ulong` on glibc, `c_int` on musl).
            .map(|&op| {
                #[allow(clippy::unnecessary_cast)]
                arg_is(1, op as u64)
            })
            .collect::<Result<_, _>>()?,
    );
    let filter = SeccompFilter::new(
        rules,
        SeccompAction::Errno(libc::EPERM as u32),
        SeccompAction::Allow,
        arch()?,
    )?;
    Ok(filter.try_into()?)
}

/// `clone3` answered `ENOSYS`, everything else passed on to the allowlist.
fn clone3_unsupported() -> Result<BpfProgram, SeccompError> {
    let rules = BTreeMap::from([(libc::SYS_clone3, Vec::new())]);
    let filter = SeccompFilter::new(
        rules,
        SeccompAction::Allow,
        SeccompAction::Errno(libc::ENOSYS as u32),
        arch()?,
    )?;
    Ok(filter.try_into()?)
}

/// Applies both filters to every thread of the process (and sets no_new_privs, which they
/// need). The kernel runs every filter and keeps the strictest answer: for `clone3`, the
/// first filter's `ENOSYS` over the allowlist's pass. The allowlist goes last because it
/// forbids `seccomp` itself: nothing can be loosened or added afterwards.
pub fn restrict() -> Result<(), SeccompError> {
    let clone3 = clone3_unsupported()?;
    let allow = allowlist()?;
    seccompiler::apply_filter_all_threads(&clone3)?;
    seccompiler::apply_filter_all_threads(&allow)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_filters_compile_and_leave_out_what_must_never_run() {
        assert!(allowlist().expect("compiles").len() > 100);
        clone3_unsupported().expect("compiles");
        for forbidden in [
            libc::SYS_execve,
            libc::SYS_execveat,
            libc::SYS_ptrace,
            libc::SYS_mount,
            libc::SYS_bpf,
            libc::SYS_process_vm_readv,
            libc::SYS_process_vm_writev,
            libc::SYS_kexec_load,
            libc::SYS_init_module,
            libc::SYS_finit_module,
            libc::SYS_delete_module,
            libc::SYS_keyctl,
            libc::SYS_add_key,
            libc::SYS_unshare,
            libc::SYS_setns,
            libc::SYS_setuid,
            libc::SYS_chroot,
        ] {
            assert!(
                !ALLOWED.contains(&forbidden) && !ALLOWED_X86_64.contains(&forbidden),
                "system call {forbidden} is allowed"
            );
        }
    }
}
