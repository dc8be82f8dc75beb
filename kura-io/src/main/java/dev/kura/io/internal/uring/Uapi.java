package dev.kura.io.internal.uring;

import java.util.ArrayList;
import java.util.List;

/**
 * The io_uring kernel ABI kura uses, from {@code include/uapi/linux/io_uring.h}: opcodes, flags
 * and the byte offsets of the structures shared with the kernel. Every flag is a full {@code int}
 * (JUring kept ring flags in a {@code byte} and silently lost those from {@code 1 << 8} on).
 * All structures are little-endian on the platforms kura runs io_uring on (x86-64, arm64).
 */
final class Uapi {
    private Uapi() {
    }

    // ---- struct io_uring_params (120 bytes) ----
    static final int PARAMS_SIZE = 120;
    static final int P_SQ_ENTRIES = 0;
    static final int P_CQ_ENTRIES = 4;
    static final int P_FLAGS = 8;
    static final int P_SQ_THREAD_CPU = 12;
    static final int P_SQ_THREAD_IDLE = 16;
    static final int P_FEATURES = 20;
    /** struct io_sqring_offsets sq_off at 40: head, tail, ring_mask, ring_entries, flags, dropped, array. */
    static final int P_SQ_OFF = 40;
    /** struct io_cqring_offsets cq_off at 80: head, tail, ring_mask, ring_entries, overflow, cqes, flags. */
    static final int P_CQ_OFF = 80;
    static final int SQO_HEAD = 0, SQO_TAIL = 4, SQO_RING_MASK = 8, SQO_RING_ENTRIES = 12, SQO_FLAGS = 16,
            SQO_DROPPED = 20, SQO_ARRAY = 24;
    static final int CQO_HEAD = 0, CQO_TAIL = 4, CQO_RING_MASK = 8, CQO_RING_ENTRIES = 12, CQO_OVERFLOW = 16,
            CQO_CQES = 20, CQO_FLAGS = 24;

    // ---- mmap offsets ----
    static final long IORING_OFF_SQ_RING = 0L;
    static final long IORING_OFF_CQ_RING = 0x8000000L;
    static final long IORING_OFF_SQES = 0x10000000L;

    // ---- setup flags ----
    static final int IORING_SETUP_SQPOLL = 1 << 1;
    static final int IORING_SETUP_SQ_AFF = 1 << 2;
    static final int IORING_SETUP_CQSIZE = 1 << 3;
    static final int IORING_SETUP_CLAMP = 1 << 4;
    static final int IORING_SETUP_SUBMIT_ALL = 1 << 7;
    static final int IORING_SETUP_COOP_TASKRUN = 1 << 8;
    static final int IORING_SETUP_SINGLE_ISSUER = 1 << 12;

    // ---- features ----
    static final int IORING_FEAT_SINGLE_MMAP = 1;
    static final int IORING_FEAT_NODROP = 1 << 1;
    private static final String[] FEATURE_NAMES = {
        "SINGLE_MMAP", "NODROP", "SUBMIT_STABLE", "RW_CUR_POS", "CUR_PERSONALITY", "FAST_POLL",
        "POLL_32BITS", "SQPOLL_NONFIXED", "EXT_ARG", "NATIVE_WORKERS", "RSRC_TAGS", "CQE_SKIP",
        "LINKED_FILE", "REG_REG_RING", "RECVSEND_BUNDLE", "MIN_TIMEOUT", "RW_ATTR", "NO_IOWAIT",
    };

    // ---- io_uring_enter flags ----
    static final int IORING_ENTER_GETEVENTS = 1;
    static final int IORING_ENTER_SQ_WAKEUP = 1 << 1;
    static final int IORING_ENTER_SQ_WAIT = 1 << 2;

    // ---- sq ring flags ----
    static final int IORING_SQ_NEED_WAKEUP = 1;

    // ---- io_uring_register opcodes ----
    static final int IORING_REGISTER_BUFFERS = 0;
    static final int IORING_UNREGISTER_BUFFERS = 1;
    static final int IORING_REGISTER_FILES = 2;
    static final int IORING_UNREGISTER_FILES = 3;
    static final int IORING_REGISTER_FILES_UPDATE = 6;
    static final int IORING_REGISTER_PROBE = 8;

    // ---- opcodes (enum io_uring_op) ----
    static final int IORING_OP_NOP = 0;
    static final int IORING_OP_FSYNC = 3;
    static final int IORING_OP_READV = 1;
    static final int IORING_OP_READ_FIXED = 4;
    static final int IORING_OP_WRITE_FIXED = 5;
    static final int IORING_OP_ASYNC_CANCEL = 14;
    static final int IORING_OP_OPENAT = 18;
    static final int IORING_OP_CLOSE = 19;
    static final int IORING_OP_STATX = 21;
    static final int IORING_OP_READ = 22;
    static final int IORING_OP_WRITE = 23;

    /** Every opcode kura submits; the probe requires all of them. */
    static final int[] USED_OPCODES = {
        IORING_OP_NOP, IORING_OP_READV, IORING_OP_FSYNC, IORING_OP_READ_FIXED, IORING_OP_WRITE_FIXED, IORING_OP_ASYNC_CANCEL,
        IORING_OP_OPENAT, IORING_OP_CLOSE, IORING_OP_STATX, IORING_OP_READ, IORING_OP_WRITE,
    };

    static String opcodeName(int op) {
        return "IORING_OP_" + switch (op) {
            case IORING_OP_NOP -> "NOP";
            case IORING_OP_READV -> "READV";
            case IORING_OP_FSYNC -> "FSYNC";
            case IORING_OP_READ_FIXED -> "READ_FIXED";
            case IORING_OP_WRITE_FIXED -> "WRITE_FIXED";
            case IORING_OP_ASYNC_CANCEL -> "ASYNC_CANCEL";
            case IORING_OP_OPENAT -> "OPENAT";
            case IORING_OP_CLOSE -> "CLOSE";
            case IORING_OP_STATX -> "STATX";
            case IORING_OP_READ -> "READ";
            case IORING_OP_WRITE -> "WRITE";
            default -> String.valueOf(op);
        };
    }

    /** The {@code IORING_FEAT_*} names of the bits set in {@code features}. */
    static List<String> featureNames(int features) {
        List<String> out = new ArrayList<>();
        for (int bit = 0; bit < 32; bit++) {
            if ((features & (1 << bit)) != 0) {
                out.add("IORING_FEAT_" + (bit < FEATURE_NAMES.length ? FEATURE_NAMES[bit] : "BIT" + bit));
            }
        }
        return out;
    }

    // ---- struct io_uring_sqe (64 bytes) ----
    static final int SQE_SIZE = 64;
    static final int IOSQE_FIXED_FILE = 1;
    static final int IORING_FSYNC_DATASYNC = 1;

    // ---- struct io_uring_cqe (16 bytes): user_data u64, res s32, flags u32 ----
    static final int CQE_SIZE = 16;

    // ---- struct io_uring_probe: last_op u8, ops_len u8, resv u16, resv2 u32[3], ops[] of 8 bytes ----
    static final int PROBE_OPS = 256;
    static final int PROBE_SIZE = 16 + PROBE_OPS * 8;
    static final int IO_URING_OP_SUPPORTED = 1;

    // ---- struct statx (256 bytes; stx_size at 40), statx(2) ----
    static final int STATX_SIZE_MASK = 0x200;
    static final int STATX_STRUCT_SIZE = 256;
    static final int STX_SIZE = 40;
}
