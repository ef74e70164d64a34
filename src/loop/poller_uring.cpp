// io_uring backend (liburing): readiness through IORING_OP_POLL_ADD, so every handler written for
// epoll runs unchanged. This is a *readiness* backend, not a completion one: the reads and writes
// are still recv/send system calls made by the Connection; io_uring replaces only epoll_wait and
// epoll_ctl.
//
//  * Interest::edge -> one multishot poll per descriptor (IORING_POLL_ADD_MULTI; io_uring polls
//    edge-triggered unless asked for IORING_POLL_ADD_LEVEL), armed once, like EPOLLET: a CQE per
//    wakeup. A multishot poll the kernel ends (a CQE without IORING_CQE_F_MORE) is re-armed before
//    the next wait; arming reports the current state at once, so no edge is lost.
//  * level interest -> a one-shot poll, re-armed before each wait for the descriptors it reported
//    (arming checks readiness at once, so a descriptor left readable is reported again: level).
//  * modify/remove: IORING_OP_POLL_REMOVE of the armed poll, then a new poll. Every poll carries
//    (generation << 32 | fd) in user_data; the generation changes at each modify/remove, so a
//    completion of a poll already replaced (or of a reused descriptor number) is dropped.
//  * Submission is batched: add/modify/remove only fill SQEs; wait() submits them all and waits
//    in one io_uring_enter (io_uring_submit_and_wait_timeout, IORING_FEAT_EXT_ARG).
//  * Interest::none cancels the poll (nothing reported, not even a hang-up), as in the epoll backend.
//
// A poll holds a reference to the file, so remove() submits its POLL_REMOVE at once (a close()
// right after it must release the socket: FIN, a listener's port), one system call like epoll's
// EPOLL_CTL_DEL; add and modify wait for the batch of the next wait().
//
// Sends (ring_send.hpp): the one *completion* path. A plain Connection hands its output to
// send(): the bytes are copied into a pooled slot sized to them (SendSlots: power-of-two classes
// from 256 B to 16 KiB, reused, the pool trimmed to the recent peak every second) and a SEND SQE
// (user_data kSendTag | slot) leaves with the next wait's io_uring_enter, beside every other
// connection's, so the loop makes no send() system call. Its CQE is kept and handed back by
// run_completions() before the turn's ready descriptors. Off with SOCKIT_URING_SENDS=0, and under
// SOCKIT_FAULTS: faults are injected in sys::, which a SEND run by the kernel never passes through
// (the fault instances of the echo suite then test the readiness path, as before).
//
// Accepts (ring_accept.hpp): an Acceptor's listening socket gets one multishot IORING_OP_ACCEPT
// (user_data kAcceptTag | gen << 32 | slot) instead of a poll; its CQEs are kept and handed to the
// Acceptor by run_completions(), before the sends'. Off with SOCKIT_URING_ACCEPT=0, under
// SOCKIT_FAULTS, and on kernels before 5.19 (one line on stderr says so).
//
// Reads (ring_recv.hpp): a plain edge-mode Connection reads through one multishot RECV into the
// loop's provided-buffer ring, each RECV ended by the kernel at a byte limit so one connection
// holds at most RecvRing::kMaxHeld buffers. On by default where a real multishot RECV with a
// byte limit works (probed once per process: probe_ring_recv); off with SOCKIT_URING_RECV=0 and
// under SOCKIT_FAULTS. Where the probe fails one line on stderr says why, and reads use recv().
#include "pollers.hpp"
#include "ring_accept.hpp"
#include "ring_recv.hpp"
#include "ring_send.hpp"

#include "sockit/net/sys.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <liburing.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

namespace sockit::loop::detail {
namespace {

constexpr std::uint64_t kIgnore = ~std::uint64_t{0};  // user_data of POLL_REMOVE requests
constexpr std::uint64_t kSendTag = std::uint64_t{1} << 63;  // user_data of a SEND: kSendTag | slot
constexpr std::uint64_t kRecvTag = std::uint64_t{1} << 62;  // a RECV: kRecvTag | gen << 32 | slot
constexpr std::uint64_t kAcceptTag = kSendTag | kRecvTag;  // an ACCEPT: kAcceptTag | gen << 32 | slot
constexpr std::uint32_t kGenMask = 0x3fffffffu;  // a generation never reaches kRecvTag or kSendTag
constexpr unsigned short kGroup = 1;  // the provided-buffer ring's group id
constexpr unsigned kEntries = 1024;

std::uint32_t to_mask(Interest interest) {
  std::uint32_t m = 0;
  if (has(interest, Interest::read)) m |= POLLIN | POLLRDHUP;
  if (has(interest, Interest::write)) m |= POLLOUT;
  return m;
}

// Multishot accept (IORING_ACCEPT_MULTISHOT) came with Linux 5.19; the opcode probe cannot tell.
bool kernel_has_multishot_accept(std::string& release) {
  utsname u{};
  if (::uname(&u) != 0) return false;
  release = u.release;
  int major = 0;
  int minor = 0;
  if (std::sscanf(u.release, "%d.%d", &major, &minor) != 2) return false;
  return major > 5 || (major == 5 && minor >= 19);
}

// Whether this kernel runs what reads through the ring need: a multishot RECV with buffer select
// from a registered buffer ring, ended at a byte limit (the SQE's optlen). Tried for real once per
// process on a scratch ring and a socketpair (a kernel that lacks any part answers -EINVAL, or
// the registration fails); `why` says what failed.
bool probe_ring_recv(std::string& why) {
  io_uring ring{};
  if (int rc = io_uring_queue_init(4, &ring, 0); rc < 0) {
    why = std::string("io_uring_queue_init: ") + std::strerror(-rc);
    return false;
  }
  constexpr unsigned kProbeBufs = 8;
  constexpr std::size_t kProbeSize = 64;
  const std::size_t ring_bytes = kProbeBufs * sizeof(io_uring_buf);
  void* mem = ::mmap(nullptr, ring_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  std::array<std::byte, kProbeBufs * kProbeSize> bufs{};
  int sv[2] = {-1, -1};
  bool ok = false;
  if (mem == MAP_FAILED) {
    why = "mmap";
    mem = nullptr;
  } else {
    auto* br = static_cast<io_uring_buf_ring*>(mem);
    io_uring_buf_ring_init(br);
    io_uring_buf_reg reg{};
    reg.ring_addr = reinterpret_cast<std::uintptr_t>(br);
    reg.ring_entries = kProbeBufs;
    reg.bgid = kGroup;
    if (int reg_rc = io_uring_register_buf_ring(&ring, &reg, 0); reg_rc < 0) {
      why = std::string("buffer ring: ") + std::strerror(-reg_rc);
    } else if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
      why = std::string("socketpair: ") + std::strerror(errno);
    } else {
      for (unsigned bid = 0; bid < kProbeBufs; ++bid) {
        io_uring_buf_ring_add(br, bufs.data() + bid * kProbeSize, kProbeSize, static_cast<unsigned short>(bid),
                              io_uring_buf_ring_mask(kProbeBufs), static_cast<int>(bid));
      }
      io_uring_buf_ring_advance(br, static_cast<int>(kProbeBufs));
      io_uring_sqe* e = io_uring_get_sqe(&ring);
      io_uring_prep_recv_multishot(e, sv[0], nullptr, 0, 0);
      e->file_index = kProbeSize;  // the byte limit
      e->flags |= IOSQE_BUFFER_SELECT;
      e->buf_group = kGroup;
      char c = 'p';
      io_uring_cqe* cqe = nullptr;
      __kernel_timespec ts{.tv_sec = 1, .tv_nsec = 0};
      if (::write(sv[1], &c, 1) != 1) {
        why = "socketpair write";
      } else if (int sub = io_uring_submit(&ring); sub != 1) {
        why = std::string("submit: ") + std::strerror(sub < 0 ? -sub : EIO);
      } else if (int rc2 = io_uring_wait_cqe_timeout(&ring, &cqe, &ts); rc2 < 0) {
        why = std::string("no completion: ") + std::strerror(-rc2);
      } else if (cqe->res != 1 || (cqe->flags & IORING_CQE_F_BUFFER) == 0) {
        why = cqe->res < 0 ? std::string("multishot recv: ") + std::strerror(-cqe->res) : "multishot recv: unexpected completion";
      } else {
        ok = true;
      }
    }
  }
  io_uring_queue_exit(&ring);  // cancels the RECV before the socket and the buffers go
  for (int fd : sv) {
    if (fd >= 0) ::close(fd);
  }
  if (mem != nullptr) ::munmap(mem, ring_bytes);
  return ok;
}

class UringPoller final : public Poller, public SendRing, public RecvRing, public AcceptRing {
 public:
  UringPoller() = default;
  ~UringPoller() override {
    if (ready_) {
      // Descriptors accepted for an owner that never took them: closed, not leaked.
      for (const AcceptDone& d : acc_done_) {
        if (d.res >= 0) sys::close(d.res);
      }
      unsigned head = 0;
      io_uring_cqe* cqe = nullptr;
      io_uring_for_each_cqe(&ring_, head, cqe) {
        if (cqe->user_data != kIgnore && (cqe->user_data & kAcceptTag) == kAcceptTag && cqe->res >= 0) sys::close(cqe->res);
      }
      io_uring_queue_exit(&ring_);  // the kernel lets go of the slots before they go
    }  // the kernel lets go of the slots before they go
    if (buf_ring_ != nullptr) ::munmap(buf_ring_, buf_ring_bytes());
  }

  // SOCKIT_URING_SETUP picks the ring's task-work mode, for measuring (BENCHMARKS.md): "plain";
  // "coop" (IORING_SETUP_COOP_TASKRUN, the default: completions wait for our next kernel entry
  // instead of interrupting the thread); "defer" (SINGLE_ISSUER | DEFER_TASKRUN: completions are
  // run only inside our wait; the ring starts disabled and is enabled by the first wait(), so the
  // thread that runs the loop is its issuer). A kernel that refuses the flags gets a plain ring.
  Result<void> init() {
    const char* mode = std::getenv("SOCKIT_URING_SETUP");
    std::string m = mode != nullptr ? mode : "coop";
    unsigned extra = 0;
    if (m == "coop") extra = IORING_SETUP_COOP_TASKRUN;
    if (m == "defer") extra = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_R_DISABLED;
    io_uring_params p{};
    p.flags = IORING_SETUP_CQSIZE | extra;
    p.cq_entries = kEntries * 4;  // multishot polls may post more than one CQE per SQE
    int rc = io_uring_queue_init_params(kEntries, &ring_, &p);
    if (rc == -EINVAL && extra != 0) {
      p = io_uring_params{};
      p.flags = IORING_SETUP_CQSIZE;
      p.cq_entries = kEntries * 4;
      extra = 0;
      rc = io_uring_queue_init_params(kEntries, &ring_, &p);
    }
    if (rc < 0) return Error(sys_error(-rc), "io_uring_queue_init");
    ready_ = true;
    defer_ = (extra & IORING_SETUP_DEFER_TASKRUN) != 0;
    enabled_ = !defer_;
    if ((p.features & IORING_FEAT_EXT_ARG) == 0) return Error(sys_error(ENOSYS), "io_uring: kernel lacks IORING_FEAT_EXT_ARG");
    io_uring_probe* probe = io_uring_get_probe_ring(&ring_);
    if (probe == nullptr) return Error(sys_error(ENOSYS), "io_uring: probe");
    bool ok = io_uring_opcode_supported(probe, IORING_OP_POLL_ADD) && io_uring_opcode_supported(probe, IORING_OP_POLL_REMOVE);
    bool accept_op = io_uring_opcode_supported(probe, IORING_OP_ACCEPT) != 0;
    io_uring_free_probe(probe);
    if (!ok) return Error(sys_error(ENOSYS), "io_uring: kernel lacks IORING_OP_POLL_ADD/POLL_REMOVE");
    const char* sends = std::getenv("SOCKIT_URING_SENDS");
    sends_ = !sys::faults_enabled() && (sends == nullptr || std::string(sends) != "0");
    // Reads through the buffer ring: on where the kernel has them (probed once), off with
    // SOCKIT_URING_RECV=0 and under SOCKIT_FAULTS (faults are injected in sys::recv).
    const char* recvs = std::getenv("SOCKIT_URING_RECV");
    if (!sys::faults_enabled() && (recvs == nullptr || std::string(recvs) != "0") && ring_recv_available()) setup_buffers();
    // Accepts through the ring: on by default where the kernel has multishot accept.
    const char* accepts = std::getenv("SOCKIT_URING_ACCEPT");
    if (!sys::faults_enabled() && (accepts == nullptr || std::string(accepts) != "0")) {
      std::string release = "?";
      accepts_ = accept_op && kernel_has_multishot_accept(release);
      static std::atomic<bool> told{false};
      if (!accepts_ && !told.exchange(true)) {
        std::fprintf(stderr, "sockit: io_uring multishot accept unavailable (kernel %s, needs 5.19); accepting on readiness\n",
                     release.c_str());
      }
    }
    return {};
  }

  // ---- RecvRing (ring_recv.hpp) ----

  static bool ring_recv_available() {
    static const bool ok = [] {
      std::string why;
      if (probe_ring_recv(why)) return true;
      utsname u{};
      std::fprintf(stderr,
                   "sockit: io_uring multishot recv with a buffer ring and a byte limit unavailable (kernel %s: %s); "
                   "reading on readiness\n",
                   ::uname(&u) == 0 ? u.release : "?", why.c_str());
      return false;
    }();
    return ok;
  }

  bool recvs_enabled() const noexcept override { return recvs_; }

  int open(int fd) override {
    if (!recvs_ || fd < 0) return -1;
    int slot;
    if (recv_free_.empty()) {
      slot = static_cast<int>(recv_.size());
      recv_.emplace_back();
    } else {
      slot = recv_free_.back();
      recv_free_.pop_back();
    }
    Recv& r = recv_[static_cast<std::size_t>(slot)];
    r.fd = fd;
    r.open = true;
    r.want = r.active = r.cancelled = r.leaving = r.ended = false;
    r.head = 0;
    r.held = 0;
    r.items.clear();
    auto idx = static_cast<std::size_t>(fd);
    if (state_.size() <= idx) state_.resize(idx + 1);
    State& s = state_[idx];
    s.recv_slot = slot;
    if (s.registered && s.armed && has(s.interest, Interest::read)) {  // a poll that watched input: without it now
      disarm(fd, s);
      (void)arm(fd, s);
    }
    return slot;
  }

  bool front(int slot, Item& out) noexcept override {
    Recv& r = recv_[static_cast<std::size_t>(slot)];
    while (r.head < r.items.size() && r.items[r.head].kind == Item::stale) pop(slot);
    if (r.head == r.items.size()) return false;
    const Pending& p = r.items[r.head];
    out.kind = p.kind;
    out.err = p.err;
    out.size = p.kind == Item::data ? static_cast<std::size_t>(p.err) : 0;
    out.bytes = p.kind == Item::data ? buffer(p.bid) : nullptr;
    return true;
  }

  void pop(int slot) noexcept override {
    Recv& r = recv_[static_cast<std::size_t>(slot)];
    if (r.head == r.items.size()) return;
    const Pending& p = r.items[r.head];
    if (p.kind == Item::data) {
      give_back(p.bid);
      --r.held;
    }
    if (++r.head == r.items.size()) {
      r.items.clear();  // keeps the capacity
      r.head = 0;
    }
  }

  void arm(int slot) override {
    Recv& r = recv_[static_cast<std::size_t>(slot)];
    if (!r.open || r.leaving || r.ended) return;  // after EOF or an error nothing more is read
    r.want = true;
    if (!r.active) arm_recv(slot, r);  // else: re-armed when the cancelled one posts its last CQE
  }

  void stop(int slot) noexcept override {
    Recv& r = recv_[static_cast<std::size_t>(slot)];
    r.want = false;
    bool was = r.cancelled;
    cancel_recv(slot, r);
    // Submitted now, like an epoll_ctl: nothing more is read from the socket once this returns.
    // (Rare: back-pressure and pause_reading.)
    if (r.cancelled && !was && enabled_) (void)(defer_ ? io_uring_submit_and_get_events(&ring_) : io_uring_submit(&ring_));
  }

  void leave(int slot) noexcept override {
    Recv& r = recv_[static_cast<std::size_t>(slot)];
    if (r.leaving) return;
    r.leaving = true;
    stop(slot);
    if (!r.active) r.items.push_back(Pending{.kind = Item::end});
    // The descriptor's poll watches for input again (arming reports the current state).
    if (r.fd >= 0 && static_cast<std::size_t>(r.fd) < state_.size()) {
      State& s = state_[static_cast<std::size_t>(r.fd)];
      if (s.recv_slot == slot) {
        s.recv_slot = -1;
        if (s.registered && s.interest != Interest::none) {
          disarm(r.fd, s);
          (void)arm(r.fd, s);
        }
      }
    }
  }

  void close(int slot) noexcept override {
    Recv& r = recv_[static_cast<std::size_t>(slot)];
    r.want = false;
    r.open = false;
    cancel_recv(slot, r);
    // Submitted now: the RECV holds the socket, and its owner closes it next (FIN, no reuse).
    if (r.active && enabled_) (void)(defer_ ? io_uring_submit_and_get_events(&ring_) : io_uring_submit(&ring_));
    for (std::size_t i = r.head; i < r.items.size(); ++i) {
      // The owner may still read the bytes of the item it is handling: they go back at the next wait.
      if (r.items[i].kind == Item::data) late_returns_.push_back(r.items[i].bid);
    }
    r.items.clear();
    r.head = 0;
    r.held = 0;
    if (r.fd >= 0 && static_cast<std::size_t>(r.fd) < state_.size() && state_[static_cast<std::size_t>(r.fd)].recv_slot == slot) {
      state_[static_cast<std::size_t>(r.fd)].recv_slot = -1;
    }
    if (!r.active) free_recv(slot, r);
  }

  std::uint64_t recvs() const noexcept override { return recv_count_; }
  std::size_t held_peak() const noexcept override { return held_peak_; }

  // ---- AcceptRing (ring_accept.hpp) ----

  bool accepts_enabled() const noexcept override { return accepts_; }

  int accept_open(int listen_fd, void* owner, Accepted fn) override {
    if (!accepts_ || listen_fd < 0 || fn == nullptr) return -1;
    int slot;
    if (acc_free_.empty()) {
      slot = static_cast<int>(acc_.size());
      acc_.emplace_back();
    } else {
      slot = acc_free_.back();
      acc_free_.pop_back();
    }
    Accept& a = acc_[static_cast<std::size_t>(slot)];
    a.fd = listen_fd;
    a.owner = owner;
    a.fn = fn;
    a.open = true;
    a.active = a.cancelled = false;
    return slot;
  }

  void accept_arm(int slot) override {
    Accept& a = acc_[static_cast<std::size_t>(slot)];
    if (!a.open || a.active) return;
    io_uring_sqe* e = sqe();
    if (e == nullptr) {
      acc_rearm_.push_back(slot);  // tried again at the next wait
      return;
    }
    io_uring_prep_multishot_accept(e, a.fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    io_uring_sqe_set_data64(e, accept_data(slot, a));
    a.active = true;
  }

  void accept_close(int slot) noexcept override {
    Accept& a = acc_[static_cast<std::size_t>(slot)];
    a.open = false;
    a.owner = nullptr;
    a.fn = nullptr;
    if (!a.active) {
      free_accept(slot, a);
      return;
    }
    if (!a.cancelled) {
      if (io_uring_sqe* e = sqe()) {
        io_uring_prep_cancel64(e, accept_data(slot, a), 0);
        io_uring_sqe_set_data64(e, kIgnore);
        a.cancelled = true;
      }
    }
    // Submitted now: the ACCEPT holds the listening socket, which its owner closes next (the port
    // is released, new connects are refused).
    if (enabled_) (void)(defer_ ? io_uring_submit_and_get_events(&ring_) : io_uring_submit(&ring_));
  }

  std::uint64_t ring_accepts() const noexcept override { return acc_count_; }

  bool sends_enabled() const noexcept override { return sends_; }

  int send(int fd, const OutputQueue& q, void* owner, Done done) override {
    if (!sends_ || q.empty()) return -1;
    io_uring_sqe* e = sqe();
    if (e == nullptr) return -1;
    SendSlots::Taken t = pool_.take(q.size());
    if (sent_.size() < pool_.slots()) sent_.resize(pool_.slots());
    Sent& sl = sent_[static_cast<std::size_t>(t.slot)];
    std::size_t len = q.copy_front(t.buf, t.size);
    sl.owner = owner;
    sl.done = done;
    io_uring_prep_send(e, fd, t.buf, len, MSG_NOSIGNAL);
    io_uring_sqe_set_data64(e, static_cast<__u64>(kSendTag | static_cast<std::uint64_t>(t.slot)));
    return t.slot;
  }

  void cancel(int slot) noexcept override {
    if (io_uring_sqe* e = sqe()) {
      io_uring_prep_cancel64(e, static_cast<__u64>(kSendTag | static_cast<std::uint64_t>(slot)), 0);
      io_uring_sqe_set_data64(e, kIgnore);
    }
    if (enabled_) (void)(defer_ ? io_uring_submit_and_get_events(&ring_) : io_uring_submit(&ring_));
  }

  void run_completions() override {
    if (!acc_done_.empty()) run_accepts();
    if (completed_.empty()) return;
    std::vector<int> done;
    done.swap(completed_);
    for (int slot : done) {
      Sent& sl = sent_[static_cast<std::size_t>(slot)];
      Done fn = std::exchange(sl.done, nullptr);
      void* owner = std::exchange(sl.owner, nullptr);
      pool_.give(slot);
      if (fn != nullptr) fn(owner, sl.result);  // may send() again: the slot is free already
    }
    done.clear();
    if (completed_.empty()) completed_.swap(done);  // keep the capacity
  }

  // The loop is going away: every owner hears of its send (cancelled) while the loop still works.
  void abandon_sends() noexcept override {
    run_completions();
    for (std::size_t i = 0; i < sent_.size(); ++i) {
      Sent& sl = sent_[i];
      if (Done fn = std::exchange(sl.done, nullptr); fn != nullptr) fn(std::exchange(sl.owner, nullptr), -ECANCELED);
    }
  }

  std::string_view name() const noexcept override { return "uring"; }
  bool supports_edge() const noexcept override { return true; }

  Result<void> add(int fd, Interest interest) override {
    if (fd < 0) return Error(sys_error(EBADF), "uring: add");
    auto idx = static_cast<std::size_t>(fd);
    if (state_.size() <= idx) state_.resize(idx + 1);
    State& s = state_[idx];
    if (s.registered) return Error(sys_error(EEXIST), "uring: add");
    s.registered = true;
    s.interest = interest;
    s.gen = (s.gen + 1) & kGenMask;
    ++count_;
    sys::note_edge_watch(ring_.ring_fd, fd, has(interest, Interest::edge));
    if (interest != Interest::none) return arm(fd, s);
    return {};
  }

  Result<void> modify(int fd, Interest interest) override {
    if (fd < 0 || static_cast<std::size_t>(fd) >= state_.size() || !state_[static_cast<std::size_t>(fd)].registered) {
      return Error(sys_error(ENOENT), "uring: modify");
    }
    State& s = state_[static_cast<std::size_t>(fd)];
    if (s.interest == interest) return {};
    disarm(fd, s);
    s.interest = interest;
    sys::note_edge_watch(ring_.ring_fd, fd, has(interest, Interest::edge));
    if (interest != Interest::none) return arm(fd, s);
    return {};
  }

  void remove(int fd) noexcept override {
    if (fd < 0 || static_cast<std::size_t>(fd) >= state_.size()) return;
    State& s = state_[static_cast<std::size_t>(fd)];
    if (!s.registered) return;
    bool was_armed = s.armed;
    disarm(fd, s);
    s.registered = false;
    s.recv_slot = -1;
    --count_;
    sys::note_edge_watch(ring_.ring_fd, fd, false);
    // The armed poll holds a reference to the file: hand the POLL_REMOVE to the kernel now, so a
    // close() right after this releases the socket (FIN, a listener's port) at once, as with epoll.
    // One system call per removal, like epoll's EPOLL_CTL_DEL.
    if (was_armed && enabled_) (void)(defer_ ? io_uring_submit_and_get_events(&ring_) : io_uring_submit(&ring_));
  }

  Result<std::size_t> wait(int timeout_ms, std::vector<Ready>& out) override {
    out.clear();
    ++turn_;
    if (!sent_.empty()) {  // the send pool gives back what the last two seconds did not need
      timespec now{};
      ::clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
      if (static_cast<std::uint64_t>(now.tv_sec) != pool_period_) {
        pool_period_ = static_cast<std::uint64_t>(now.tv_sec);
        pool_.rotate();
      }
    }
    // Re-arm the one-shot polls that fired last time, and multishot ones the kernel ended.
    std::vector<int> rearm;
    rearm.swap(rearm_);
    for (int fd : rearm) {
      State& s = state_[static_cast<std::size_t>(fd)];
      if (s.registered && !s.armed && s.interest != Interest::none) {
        if (auto r = arm(fd, s); !r) return r.error();
      }
    }
    rearm.clear();
    rearm_.swap(rearm);  // keep the capacity
    for (unsigned short bid : late_returns_) give_back(bid);
    late_returns_.clear();
    if (!acc_rearm_.empty()) {
      std::vector<int> again;
      again.swap(acc_rearm_);
      for (int slot : again) accept_arm(slot);
    }
    if (!recv_rearm_.empty()) {
      std::vector<int> again;
      again.swap(recv_rearm_);
      for (int slot : again) {
        Recv& r = recv_[static_cast<std::size_t>(slot)];
        if (r.open && r.want && !r.active) arm_recv(slot, r);
      }
    }
    if (!enabled_) {
      if (int e = enable(); e < 0) return Error(sys_error(-e), "io_uring_enable_rings");
    }
    // Fault injection (SOCKIT_FAULTS): a descriptor given a spurious EAGAIN or short transfer is
    // reported again if still ready, as sys:: does for epoll (its multishot poll stays armed and
    // no new wakeup would come). Without faults the list is always empty.
    sys::take_owed(ring_.ring_fd, owed_);
    if (!owed_.empty()) timeout_ms = 0;
    io_uring_cqe* cqe = nullptr;
    int rc;
    if (timeout_ms == 0) {
      rc = defer_ ? io_uring_submit_and_get_events(&ring_) : io_uring_submit(&ring_);
    } else if (timeout_ms < 0) {
      rc = io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, nullptr, nullptr);
    } else {
      __kernel_timespec ts{};
      ts.tv_sec = timeout_ms / 1000;
      ts.tv_nsec = static_cast<long long>(timeout_ms % 1000) * 1'000'000;
      rc = io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, &ts, nullptr);
    }
    if (rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY) {
      return Error(sys_error(-rc), "io_uring_enter");
    }
    unsigned head = 0;
    unsigned seen = 0;
    io_uring_for_each_cqe(&ring_, head, cqe) {
      ++seen;
      reap(*cqe, out);
    }
    io_uring_cq_advance(&ring_, seen);
    for (int fd : owed_) {
      if (fd < 0 || static_cast<std::size_t>(fd) >= state_.size()) continue;
      State& s = state_[static_cast<std::size_t>(fd)];
      if (!s.registered || s.interest == Interest::none) continue;
      pollfd pf{fd, static_cast<short>(to_mask(s.interest)), 0};
      if (::poll(&pf, 1, 0) > 0) report(fd, s, static_cast<std::uint16_t>(pf.revents), out);
    }
    return out.size();
  }

  std::size_t size() const noexcept override { return count_; }

 private:
  struct State {
    std::uint32_t gen = 0;
    std::uint32_t out_turn = 0;  // turn_ when `out_index` is valid
    std::uint32_t out_index = 0;
    int recv_slot = -1;  // reads come through this RecvRing slot: the poll leaves out POLLIN
    Interest interest = Interest::none;
    bool registered = false;
    bool armed = false;
  };

  int enable() {
    // io_uring_enable_rings() is declared by Debian's liburing 2.3 but not exported: the syscall.
    auto e = static_cast<int>(::syscall(__NR_io_uring_register, ring_.ring_fd, IORING_REGISTER_ENABLE_RINGS, nullptr, 0));
    if (e < 0) e = -errno;
    if (e >= 0) enabled_ = true;
    return e;
  }

  io_uring_sqe* sqe() {
    io_uring_sqe* e = io_uring_get_sqe(&ring_);
    if (e == nullptr) {
      if (!enabled_) (void)enable();
      (void)io_uring_submit(&ring_);  // the SQ ring is full: hand the batch to the kernel now
      e = io_uring_get_sqe(&ring_);
    }
    return e;
  }

  Result<void> arm(int fd, State& s) {
    io_uring_sqe* e = sqe();
    if (e == nullptr) return Error(sys_error(EBUSY), "uring: submission queue full");
    std::uint32_t mask = to_mask(s.interest);
    if (s.recv_slot >= 0) mask &= ~std::uint32_t{POLLIN | POLLRDHUP};  // the RECV reads (and sees EOF)
    if (has(s.interest, Interest::edge)) {
      io_uring_prep_poll_multishot(e, fd, mask);
    } else {
      io_uring_prep_poll_add(e, fd, mask);
    }
    io_uring_sqe_set_data64(e, (std::uint64_t{s.gen} << 32) | static_cast<std::uint32_t>(fd));
    s.armed = true;
    return {};
  }

  // Cancels the armed poll (if any) and moves to a new generation, so its late CQEs are dropped.
  void disarm(int fd, State& s) noexcept {
    if (s.armed) {
      if (io_uring_sqe* e = sqe()) {
        // ASYNC_CANCEL, not POLL_REMOVE: a POLL_REMOVE finding the poll's wakeup in progress (a
        // socket ready the moment it was armed, e.g. a refused connection closed in the turn it
        // came) fails with EALREADY and leaves the multishot poll, and its hold on the file, in
        // place: the socket would never close. A cancel marks the poll and completes it.
        io_uring_prep_cancel64(e, (std::uint64_t{s.gen} << 32) | static_cast<std::uint32_t>(fd), 0);
        io_uring_sqe_set_data64(e, kIgnore);
      }
      s.armed = false;
    }
    s.gen = (s.gen + 1) & kGenMask;
  }

  void reap(const io_uring_cqe& c, std::vector<Ready>& out) {
    std::uint64_t ud = c.user_data;
    if (ud == kIgnore) return;
    if ((ud & kAcceptTag) == kAcceptTag) {
      reap_accept(c);
      return;
    }
    if ((ud & (kSendTag | kRecvTag)) == kRecvTag) {
      reap_recv(c, out);
      return;
    }
    if ((ud & kSendTag) != 0) {
      auto slot = static_cast<std::size_t>(ud & 0xffffffffu);
      if (slot < sent_.size() && sent_[slot].done != nullptr) {
        sent_[slot].result = c.res;
        completed_.push_back(static_cast<int>(slot));
      }
      return;
    }
    auto fd = static_cast<int>(ud & 0xffffffffu);
    auto gen = static_cast<std::uint32_t>(ud >> 32);
    if (fd < 0 || static_cast<std::size_t>(fd) >= state_.size()) return;
    State& s = state_[static_cast<std::size_t>(fd)];
    if (!s.registered || s.gen != gen) return;  // a poll since replaced or removed
    if ((c.flags & IORING_CQE_F_MORE) == 0) {
      s.armed = false;
      rearm_.push_back(fd);
    }
    if (c.res == -ECANCELED) return;
    std::uint32_t ev = c.res < 0 ? std::uint32_t{POLLERR} : static_cast<std::uint32_t>(c.res);
    if ((ev & (POLLERR | POLLHUP)) != 0) {
      // The CQE carries the mask of the wakeup that fired it (a reset's error report says only
      // POLLERR), where epoll reports the whole state at harvest time (IN|OUT|ERR|HUP|RDHUP);
      // handlers act on the latter, so ask for it on this rare path.
      pollfd pf{fd, static_cast<short>(to_mask(s.interest)), 0};
      if (::poll(&pf, 1, 0) > 0) ev |= static_cast<std::uint16_t>(pf.revents);
    }
    report(fd, s, ev, out);
  }

  // Adds what `ev` (poll bits) says of `fd` to this wait's Ready for it (one per descriptor).
  void report(int fd, State& s, std::uint32_t ev, std::vector<Ready>& out) {
    bool hangup = (ev & POLLHUP) != 0;
    bool error = (ev & POLLERR) != 0;
    bool trouble = hangup || error;
    bool readable = has(s.interest, Interest::read) && ((ev & (POLLIN | POLLPRI | POLLRDHUP)) != 0 || trouble);
    bool writable = has(s.interest, Interest::write) && ((ev & POLLOUT) != 0 || trouble);
    if (!readable && !writable) return;
    if (s.out_turn != turn_ || s.out_index >= out.size() || out[s.out_index].fd != fd) {
      s.out_turn = turn_;
      s.out_index = static_cast<std::uint32_t>(out.size());
      out.push_back(Ready{.fd = fd});
    }
    Ready& r = out[s.out_index];  // several CQEs for one descriptor in one wait make one Ready
    r.readable |= readable;
    r.writable |= writable;
    r.hangup |= hangup;
    r.error |= error;
    r.peer_closed |= (ev & POLLRDHUP) != 0;
  }

  // ---- the provided-buffer ring and the RECV slots ----

  struct Pending {
    Item::Kind kind = Item::data;
    unsigned short bid = 0;
    int err = 0;  // data: the byte count; error: errno
  };
  struct Recv {
    int fd = -1;
    std::uint32_t gen = 0;
    bool open = false;       // an owner holds the slot
    bool want = false;       // the owner wants its reads
    bool active = false;     // a RECV is in the kernel (no CQE without IORING_CQE_F_MORE yet)
    bool cancelled = false;  // its cancel is queued
    bool leaving = false;    // leave(): an `end` item after the last CQE
    bool ended = false;      // EOF or an error queued: never armed again
    std::size_t head = 0;
    std::size_t held = 0;    // data items[head..]: buffers the owner has not given back
    std::vector<Pending> items;  // items[head..] not yet taken
  };

  static std::size_t buf_ring_bytes() noexcept { return kBuffers * sizeof(io_uring_buf); }
  const std::byte* buffer(unsigned short bid) const noexcept { return buffers_.get() + std::size_t{bid} * kBufferSize; }

  // One buffer ring per loop, registered once: kBuffers x kBufferSize bytes, no allocation per read.
  // liburing 2.3 has no io_uring_setup_buf_ring: the ring's entries are mmapped (page aligned, as
  // the kernel wants) and registered. A kernel that refuses leaves the reads to recv().
  void setup_buffers() {
    void* mem = ::mmap(nullptr, buf_ring_bytes(), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) return;
    buf_ring_ = static_cast<io_uring_buf_ring*>(mem);
    io_uring_buf_ring_init(buf_ring_);
    io_uring_buf_reg reg{};
    reg.ring_addr = reinterpret_cast<std::uintptr_t>(buf_ring_);
    reg.ring_entries = kBuffers;
    reg.bgid = kGroup;
    if (io_uring_register_buf_ring(&ring_, &reg, 0) < 0) {
      ::munmap(buf_ring_, buf_ring_bytes());
      buf_ring_ = nullptr;
      return;
    }
    buffers_ = std::make_unique<std::byte[]>(std::size_t{kBuffers} * kBufferSize);
    for (unsigned bid = 0; bid < kBuffers; ++bid) {
      io_uring_buf_ring_add(buf_ring_, buffers_.get() + std::size_t{bid} * kBufferSize, kBufferSize, static_cast<unsigned short>(bid),
                            io_uring_buf_ring_mask(kBuffers), static_cast<int>(bid));
    }
    io_uring_buf_ring_advance(buf_ring_, static_cast<int>(kBuffers));
    recvs_ = true;
  }

  void give_back(unsigned short bid) noexcept {
    io_uring_buf_ring_add(buf_ring_, buffers_.get() + std::size_t{bid} * kBufferSize, kBufferSize, bid,
                          io_uring_buf_ring_mask(kBuffers), 0);
    io_uring_buf_ring_advance(buf_ring_, 1);
  }

  void arm_recv(int slot, Recv& r) {
    io_uring_sqe* e = sqe();
    if (e == nullptr) {
      recv_rearm_.push_back(slot);  // tried again at the next wait
      return;
    }
    // A RECV armed again reads what the socket holds: a queued "read it yourself" is void (it would
    // read bytes that belong after the ones this RECV brings).
    for (std::size_t i = r.head; i < r.items.size(); ++i) {
      if (r.items[i].kind == Item::no_buffers) r.items[i].kind = Item::stale;
    }
    io_uring_prep_recv_multishot(e, r.fd, nullptr, 0, 0);
    // The kernel ends the multishot RECV once it has brought this many bytes (the SQE's optlen,
    // liburing 2.3's file_index; a kernel without the limit refuses the SQE, which the probe
    // found): the slot never holds more than kMaxHeld buffers' worth of bytes, however fast the
    // peer writes within one wait.
    e->file_index = static_cast<__u32>((kMaxHeld - std::min(r.held, kMaxHeld - 1)) * kBufferSize);
    e->flags |= IOSQE_BUFFER_SELECT;
    e->buf_group = kGroup;
    io_uring_sqe_set_data64(e, kRecvTag | (std::uint64_t{r.gen} << 32) | static_cast<std::uint32_t>(slot));
    r.active = true;
    r.cancelled = false;
  }

  void cancel_recv(int slot, Recv& r) noexcept {
    if (!r.active || r.cancelled) return;
    if (io_uring_sqe* e = sqe()) {
      io_uring_prep_cancel64(e, kRecvTag | (std::uint64_t{r.gen} << 32) | static_cast<std::uint32_t>(slot), 0);
      io_uring_sqe_set_data64(e, kIgnore);
      r.cancelled = true;
    }
  }

  void free_recv(int slot, Recv& r) {
    r.fd = -1;
    r.gen = (r.gen + 1) & kGenMask;  // late CQEs of the old RECV are recognised by it
    recv_free_.push_back(slot);
  }

  void report_recv(const Recv& r, std::uint32_t ev, std::vector<Ready>& out) {
    if (r.fd < 0 || static_cast<std::size_t>(r.fd) >= state_.size()) return;
    State& s = state_[static_cast<std::size_t>(r.fd)];
    if (s.registered) report(r.fd, s, ev, out);
  }

  void reap_recv(const io_uring_cqe& c, std::vector<Ready>& out) {
    auto slot = static_cast<std::size_t>(c.user_data & 0xffffffffu);
    auto gen = static_cast<std::uint32_t>((c.user_data >> 32) & kGenMask);
    bool has_buf = (c.flags & IORING_CQE_F_BUFFER) != 0;
    auto bid = static_cast<unsigned short>(c.flags >> IORING_CQE_BUFFER_SHIFT);
    if (slot >= recv_.size() || recv_[slot].gen != gen) {
      if (has_buf) give_back(bid);
      return;
    }
    Recv& r = recv_[slot];
    bool last = (c.flags & IORING_CQE_F_MORE) == 0;
    if (last) {
      r.active = false;
      r.cancelled = false;
    }
    if (!r.open) {  // closed: nothing is delivered
      if (has_buf) give_back(bid);
      if (last) free_recv(static_cast<int>(slot), r);
      return;
    }
    std::size_t before = r.items.size() - r.head;
    std::uint32_t ev = POLLIN;
    if (c.res > 0 && has_buf) {
      r.items.push_back(Pending{.kind = Item::data, .bid = bid, .err = c.res});
      ++recv_count_;
      held_peak_ = std::max(held_peak_, ++r.held);
    } else {
      if (has_buf) give_back(bid);
      if (c.res == 0) {
        r.items.push_back(Pending{.kind = Item::eof});
        r.want = false;
        r.ended = true;
        ev |= POLLRDHUP;
      } else if (c.res == -ENOBUFS) {
        r.items.push_back(Pending{.kind = Item::no_buffers});
        r.want = false;
      } else if (c.res < 0 && c.res != -ECANCELED) {
        r.items.push_back(Pending{.kind = Item::error, .err = -c.res});
        r.want = false;
        r.ended = true;
      }
    }
    if (last) {
      if (r.leaving) {
        r.items.push_back(Pending{.kind = Item::end});
      } else if (r.want && r.held >= kMaxHeld) {
        // Ended at its byte limit with the slot full: the owner reads the rest with recv() (under
        // its water marks) once it has taken these, then arms it again.
        r.items.push_back(Pending{.kind = Item::no_buffers});
        r.want = false;
      } else if (r.want) {
        arm_recv(static_cast<int>(slot), r);  // ended by the kernel, or cancelled and wanted again
      }
    }
    if (r.items.size() - r.head != before) report_recv(r, ev, out);
  }

  // ---- the multishot accepts ----

  struct Accept {
    int fd = -1;  // the listening socket (the owner's)
    void* owner = nullptr;
    Accepted fn = nullptr;
    std::uint32_t gen = 0;
    bool open = false;       // an owner holds the slot
    bool active = false;     // an ACCEPT is in the kernel (no CQE without IORING_CQE_F_MORE yet)
    bool cancelled = false;  // its cancel is queued
  };
  struct AcceptDone {  // a CQE kept for run_completions()
    int slot;
    std::uint32_t gen;
    int res;
    bool more;
  };

  static std::uint64_t accept_data(int slot, const Accept& a) noexcept {
    return kAcceptTag | (std::uint64_t{a.gen} << 32) | static_cast<std::uint32_t>(slot);
  }

  void free_accept(int slot, Accept& a) {
    a.fd = -1;
    a.gen = (a.gen + 1) & kGenMask;  // kept CQEs of the old owner are recognised by it
    acc_free_.push_back(slot);
  }

  void reap_accept(const io_uring_cqe& c) {
    auto slot = static_cast<std::size_t>(c.user_data & 0xffffffffu);
    auto gen = static_cast<std::uint32_t>((c.user_data >> 32) & kGenMask);
    if (slot >= acc_.size() || acc_[slot].gen != gen) {
      if (c.res >= 0) sys::close(c.res);
      return;
    }
    Accept& a = acc_[slot];
    bool more = (c.flags & IORING_CQE_F_MORE) != 0;
    if (!more) {
      a.active = false;
      a.cancelled = false;
    }
    if (!a.open) {  // its owner went: nobody takes the connection
      if (c.res >= 0) sys::close(c.res);
      if (!more) free_accept(static_cast<int>(slot), a);
      return;
    }
    if (c.res >= 0) ++acc_count_;
    acc_done_.push_back(AcceptDone{static_cast<int>(slot), gen, c.res, more});
  }

  void run_accepts() {
    std::vector<AcceptDone> done;
    done.swap(acc_done_);
    for (const AcceptDone& d : done) {
      Accept& a = acc_[static_cast<std::size_t>(d.slot)];  // by index: an owner may open another
      if (!a.open || a.gen != d.gen) {  // closed by a callback before this one
        if (d.res >= 0) sys::close(d.res);
        continue;
      }
      a.fn(a.owner, d.res, d.more);
    }
    done.clear();
    if (acc_done_.empty()) acc_done_.swap(done);  // keep the capacity
  }

  bool accepts_ = false;  // AcceptRing on (SOCKIT_URING_ACCEPT, SOCKIT_FAULTS, kernel 5.19+)
  std::vector<Accept> acc_;
  std::vector<int> acc_free_;
  std::vector<int> acc_rearm_;  // slots whose ACCEPT found no SQE
  std::vector<AcceptDone> acc_done_;
  std::uint64_t acc_count_ = 0;

  io_uring_buf_ring* buf_ring_ = nullptr;
  std::unique_ptr<std::byte[]> buffers_;
  bool recvs_ = false;  // RecvRing on (SOCKIT_URING_RECV, SOCKIT_FAULTS, the kernel's buffer ring)
  std::vector<Recv> recv_;
  std::vector<int> recv_free_;
  std::vector<unsigned short> late_returns_;  // buffers of closed slots, back at the next wait
  std::vector<int> recv_rearm_;               // slots whose RECV found no SQE
  std::uint64_t recv_count_ = 0;
  std::size_t held_peak_ = 0;

  struct Sent {  // a SendSlots slot's send
    void* owner = nullptr;
    Done done = nullptr;  // null: free, or its completion already handed back
    int result = 0;
  };

  io_uring ring_{};
  bool sends_ = false;  // SendRing on (SOCKIT_URING_SENDS, SOCKIT_FAULTS)
  SendSlots pool_;
  std::vector<Sent> sent_;  // by slot
  std::uint64_t pool_period_ = 0;  // CLOCK_MONOTONIC_COARSE second of the pool's last rotate()
  std::vector<int> completed_;  // slots whose SEND completed in the last wait
  bool ready_ = false;
  bool defer_ = false;    // DEFER_TASKRUN: completions run only when we enter to wait
  bool enabled_ = true;   // false until the first wait() of an R_DISABLED ring
  std::uint32_t turn_ = 0;
  std::vector<State> state_;
  std::vector<int> rearm_;
  std::vector<int> owed_;  // SOCKIT_FAULTS only: see wait()
  std::size_t count_ = 0;
};

}  // namespace

Result<std::unique_ptr<Poller>> make_uring_poller() {
  if (const char* off = std::getenv("SOCKIT_NO_URING"); off != nullptr && *off != '\0' && std::string(off) != "0") {
    return Error(sys_error(ENOSYS), "io_uring turned off by SOCKIT_NO_URING");
  }
  auto p = std::make_unique<UringPoller>();
  if (auto r = p->init(); !r) return r.error();
  return std::unique_ptr<Poller>(std::move(p));
}

}  // namespace sockit::loop::detail
