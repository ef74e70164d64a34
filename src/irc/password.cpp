#include "sockit/irc/password.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include <sys/resource.h>
#include <unistd.h>

namespace sockit::irc {

namespace {

constexpr std::string_view kScheme = "pbkdf2-sha256";
constexpr std::size_t kHashBytes = 32;
constexpr unsigned kMaxIterations = 10'000'000;

std::string to_hex(const unsigned char* p, std::size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (std::size_t i = 0; i < n; ++i) {
    out.push_back(kDigits[p[i] >> 4]);
    out.push_back(kDigits[p[i] & 15]);
  }
  return out;
}

bool from_hex(std::string_view s, std::vector<unsigned char>& out) {
  if (s.size() % 2 != 0 || s.empty()) return false;
  auto nib = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  out.clear();
  for (std::size_t i = 0; i < s.size(); i += 2) {
    int hi = nib(s[i]), lo = nib(s[i + 1]);
    if (hi < 0 || lo < 0) return false;
    out.push_back(static_cast<unsigned char>(hi * 16 + lo));
  }
  return true;
}

struct Parsed {
  unsigned iterations = 0;
  std::vector<unsigned char> salt;
  std::vector<unsigned char> hash;
};

bool parse(std::string_view encoded, Parsed& p) {
  auto next = [&](std::string_view& field) {
    std::size_t d = encoded.find('$');
    field = encoded.substr(0, d);
    encoded = d == std::string_view::npos ? std::string_view() : encoded.substr(d + 1);
    return d != std::string_view::npos;
  };
  std::string_view scheme, iter, salt, hash;
  if (!next(scheme) || scheme != kScheme || !next(iter) || !next(salt)) return false;
  hash = encoded;
  auto [ptr, ec] = std::from_chars(iter.data(), iter.data() + iter.size(), p.iterations);
  if (ec != std::errc() || ptr != iter.data() + iter.size() || p.iterations == 0 || p.iterations > kMaxIterations) {
    return false;
  }
  return from_hex(salt, p.salt) && from_hex(hash, p.hash) && p.hash.size() == kHashBytes;
}

bool derive(std::string_view password, const std::vector<unsigned char>& salt, unsigned iterations,
            unsigned char* out) {
  return PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()), salt.data(),
                           static_cast<int>(salt.size()), static_cast<int>(iterations), EVP_sha256(),
                           static_cast<int>(kHashBytes), out) == 1;
}

}  // namespace

Result<std::string> hash_password(std::string_view password, unsigned iterations) {
  if (iterations == 0 || iterations > kMaxIterations) return Error(errc::invalid_argument, "pbkdf2 iterations");
  std::vector<unsigned char> salt(16);
  if (RAND_bytes(salt.data(), static_cast<int>(salt.size())) != 1) {
    return Error(errc::not_supported, "RAND_bytes");
  }
  unsigned char out[kHashBytes];
  if (!derive(password, salt, iterations, out)) return Error(errc::not_supported, "PKCS5_PBKDF2_HMAC");
  return std::string(kScheme) + "$" + std::to_string(iterations) + "$" + to_hex(salt.data(), salt.size()) + "$" +
         to_hex(out, kHashBytes);
}

bool is_password_hash(std::string_view encoded) {
  Parsed p;
  return parse(encoded, p);
}

bool verify_password(std::string_view password, std::string_view encoded) {
  Parsed p;
  if (!parse(encoded, p)) return false;
  unsigned char out[kHashBytes];
  if (!derive(password, p.salt, p.iterations, out)) return false;
  return CRYPTO_memcmp(out, p.hash.data(), kHashBytes) == 0;
}

struct PasswordChecker::Impl {
  struct Job {
    std::string password, encoded;
    std::function<void(bool)> done;
    std::function<void()> task;  ///< submit_task(): run instead of a verify
    std::weak_ptr<const void> owner;
    bool owned = false;
  };
  explicit Impl(std::size_t max) : max_queued(max) {}
  void work();
  std::mutex mu;
  std::condition_variable cv;
  std::deque<Job> urgent, queue;
  const std::size_t max_queued;
  bool stopping = false;
  std::vector<std::thread> threads;
};

PasswordChecker::PasswordChecker(unsigned threads, std::size_t max_queued) : impl_(std::make_unique<Impl>(max_queued)) {
  for (unsigned i = 0; i < std::max(threads, 1u); ++i) impl_->threads.emplace_back([im = impl_.get()] { im->work(); });
}

PasswordChecker::~PasswordChecker() { stop(); }

bool PasswordChecker::submit(std::string password, std::string encoded, std::function<void(bool)> done, bool urgent,
                             std::weak_ptr<const void> owner) {
  Impl& im = *impl_;
  {
    std::lock_guard lock(im.mu);
    if (im.stopping || im.urgent.size() + im.queue.size() >= im.max_queued) return false;
    bool owned = !owner.expired();
    (urgent ? im.urgent : im.queue)
        .push_back(Impl::Job{std::move(password), std::move(encoded), std::move(done), {}, std::move(owner), owned});
  }
  im.cv.notify_one();
  return true;
}

bool PasswordChecker::submit_task(std::function<void()> task, bool urgent, std::weak_ptr<const void> owner) {
  Impl& im = *impl_;
  {
    std::lock_guard lock(im.mu);
    if (im.stopping || im.urgent.size() + im.queue.size() >= im.max_queued) return false;
    bool owned = !owner.expired();
    (urgent ? im.urgent : im.queue).push_back(Impl::Job{{}, {}, {}, std::move(task), std::move(owner), owned});
  }
  im.cv.notify_one();
  return true;
}

void PasswordChecker::stop() {
  Impl& im = *impl_;
  {
    std::lock_guard lock(im.mu);
    im.stopping = true;
    im.urgent.clear();
    im.queue.clear();
  }
  im.cv.notify_all();
  for (auto& t : im.threads) {
    if (t.joinable()) t.join();
  }
}

namespace {
// The lowest priority: on a contended core a worker gets about 1.5 % of it (a 30 ms check then
// takes about 2 s), and none of the loops' time.
constexpr int kWorkerNice = 19;
}  // namespace

void PasswordChecker::Impl::work() {
  // Below the event loops' priority: a flood of checks fills idle CPU, and a loop that wakes up
  // takes the core at once instead of sharing it with a PBKDF2 run (Linux: nice is per thread).
  // Failure to lower it (a seccomp filter, say) leaves the thread as it was.
  (void)::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), kWorkerNice);
  while (true) {
    Job job;
    {
      std::unique_lock lock(mu);
      cv.wait(lock, [this] { return stopping || !urgent.empty() || !queue.empty(); });
      if (stopping) return;
      auto& q = urgent.empty() ? queue : urgent;
      job = std::move(q.front());
      q.pop_front();
    }
    if (job.owned && job.owner.expired()) continue;  // nobody waits for this verdict any more
    if (job.task) {
      job.task();
    } else {
      job.done(verify_password(job.password, job.encoded));
    }
  }
}

}  // namespace sockit::irc
