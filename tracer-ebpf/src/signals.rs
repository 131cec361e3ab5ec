//! Signals generated for traced processes (`signal:signal_generate`), with the sender as the current task.

use aya_ebpf::{helpers::bpf_get_current_pid_tgid, macros::tracepoint, programs::TracePointContext};
use tracer_common::{
    event::{kind, lost},
    signals::SignalEvent,
};

use crate::maps::{EVENTS, count_lost, fill_header, global, is_traced, now_ns};

/// Field offsets of `signal_generate`, from its format file.
#[unsafe(no_mangle)]
static SIGGEN_SIG_OFFSET: u32 = 8;
#[unsafe(no_mangle)]
static SIGGEN_CODE_OFFSET: u32 = 16;
#[unsafe(no_mangle)]
static SIGGEN_COMM_OFFSET: u32 = 20;
#[unsafe(no_mangle)]
static SIGGEN_PID_OFFSET: u32 = 36;
#[unsafe(no_mangle)]
static SIGGEN_GROUP_OFFSET: u32 = 40;
#[unsafe(no_mangle)]
static SIGGEN_RESULT_OFFSET: u32 = 44;

/// Offsets known only at load time: the verifier refuses variable context offsets, so copy instead.
#[inline(always)]
fn field<T: Copy + Default>(ctx: &TracePointContext, offset: &u32) -> T {
    unsafe { ctx.read_at(global(offset) as usize) }.unwrap_or_default()
}

#[tracepoint]
pub fn signal_generate(ctx: TracePointContext) -> u32 {
    // The record names the target thread; signals to a process go to its leader, whose tid is the pid.
    let target_tid: u32 = field(&ctx, &SIGGEN_PID_OFFSET);
    if !is_traced(target_tid) {
        return 0;
    }
    let Some(mut entry) = EVENTS.reserve::<SignalEvent>(0) else {
        count_lost(lost::SIGNALS);
        return 0;
    };
    let event = unsafe { &mut *entry.as_mut_ptr() };
    fill_header(&mut event.header, kind::SIGNAL, bpf_get_current_pid_tgid(), now_ns());
    event.signo = field(&ctx, &SIGGEN_SIG_OFFSET);
    event.code = field(&ctx, &SIGGEN_CODE_OFFSET);
    event.target_pid = target_tid;
    event.target_tid = target_tid;
    event.result = field(&ctx, &SIGGEN_RESULT_OFFSET);
    event.group = field(&ctx, &SIGGEN_GROUP_OFFSET);
    event.target_comm = field(&ctx, &SIGGEN_COMM_OFFSET);
    entry.submit(0);
    0
}
