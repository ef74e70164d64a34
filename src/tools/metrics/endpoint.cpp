// The /metrics endpoint on an event loop: see endpoint.hpp.
#include "endpoint.hpp"

#include "http.hpp"

#include "sockit/net/io.hpp"
#include "sockit/net/socket.hpp"

#include <algorithm>

namespace sockit::metrics {

class HttpConnection final : public loop::Connection {
 public:
  HttpConnection(Endpoint& ep, Fd fd, const Address& peer)
      : Connection(ep.loop_, std::move(fd), peer, ep.conn_opts_), ep_(&ep) {}
  void detach() noexcept { ep_ = nullptr; }

 protected:
  void on_data(std::span<const std::byte> data) override {
    if (done_) return;
    if (ep_ != nullptr) ep_->bytes_in_ += data.size();
    buf_.append(reinterpret_cast<const char*>(data.data()), data.size());
    while (!done_ && !buf_.empty()) {
      HttpRequest req = parse_request(buf_);
      if (req.status == HttpRequest::Status::incomplete) return;
      HttpResponse r = respond(req, [this] {
        if (ep_ == nullptr) return std::string();
        ++ep_->scrapes_;
        return ep_->page_();
      });
      if (ep_ != nullptr) ep_->bytes_sent_ += r.bytes.size();
      send(std::move(r.bytes));
      if (r.close) {
        done_ = true;
        buf_.clear();
        shutdown_after_flush();
        return;
      }
      buf_.erase(0, req.consumed);
    }
  }
  void on_eof() override {
    done_ = true;
    shutdown_after_flush();
  }
  void on_closed(loop::CloseReason, std::error_code) override {
    if (ep_ != nullptr) ep_->forget(this);
  }

 private:
  Endpoint* ep_;
  std::string buf_;  // at most one request head (parse_request refuses more than kMaxRequestHead)
  bool done_ = false;
};

Endpoint::Endpoint(loop::EventLoop& loop, Address local, Page page, EndpointOptions opts)
    : loop_(loop), local_(std::move(local)), page_(std::move(page)), opts_(std::move(opts)) {
  conn_opts_.idle_timeout = opts_.idle_timeout;
  conn_opts_.max_output = 64 << 20;  // a slow scraper of a large page is closed, not buffered forever
  conn_opts_.linger = std::chrono::seconds(1);
}

Result<std::unique_ptr<Endpoint>> Endpoint::create(loop::EventLoop& loop, const Address& addr, Page page,
                                                   EndpointOptions opts) {
  auto l = TcpListener::bind(addr);
  if (!l) return std::move(l).error().with_context("metrics " + addr.to_string());
  auto local = l->local_address();
  if (!local) return std::move(local).error();
  Fd fd = l->release();
  if (auto r = set_nonblocking(fd.get()); !r) return std::move(r).error();
  std::unique_ptr<Endpoint> ep(new Endpoint(loop, *local, std::move(page), std::move(opts)));
  Endpoint* raw = ep.get();
  auto a = loop::Acceptor::create(
      loop, std::move(fd), [raw](Fd c, const Address& peer) { raw->on_accept(std::move(c), peer); },
      [raw](const Error& e) {
        if (raw->opts_.log) raw->opts_.log("metrics: " + e.message());
      });
  if (!a) return std::move(a).error().with_context("metrics " + local->to_string());
  ep->acceptor_ = std::move(*a);
  return ep;
}

Endpoint::~Endpoint() {
  acceptor_.reset();
  auto conns = std::move(conns_);
  for (auto& c : conns) {
    c->detach();
    c->close(loop::CloseReason::server_stopping);
  }
}

std::uint64_t Endpoint::bytes_out() const noexcept {
  std::uint64_t queued = 0;
  for (const auto& c : conns_) queued += c->queued_bytes();
  return bytes_sent_ - std::min(queued, bytes_sent_);
}

void Endpoint::on_accept(Fd fd, const Address& peer) {
  if (conns_.size() >= opts_.max_connections) return;  // fd closes here: the scraper sees EOF
  auto c = std::make_shared<HttpConnection>(*this, std::move(fd), peer);
  if (auto r = c->start(); !r) return;
  conns_.push_back(std::move(c));
}

void Endpoint::forget(HttpConnection* c) {
  auto it = std::find_if(conns_.begin(), conns_.end(), [c](const auto& p) { return p.get() == c; });
  if (it == conns_.end()) return;
  auto keep = std::move(*it);  // alive until its on_closed returns
  conns_.erase(it);
}

Result<std::unique_ptr<ThreadedEndpoint>> ThreadedEndpoint::create(const Address& addr, Endpoint::Page page,
                                                                   EndpointOptions opts) {
  std::unique_ptr<ThreadedEndpoint> t(new ThreadedEndpoint());
  auto l = loop::EventLoop::create(loop::Backend::poll);
  if (!l) return std::move(l).error();
  t->loop_ = std::move(*l);
  auto ep = Endpoint::create(*t->loop_, addr, std::move(page), std::move(opts));
  if (!ep) return std::move(ep).error();
  t->endpoint_ = std::move(*ep);
  t->local_ = t->endpoint_->local_address();
  loop::EventLoop* lp = t->loop_.get();
  t->thread_ = std::thread([lp] { lp->run(); });
  return t;
}

ThreadedEndpoint::~ThreadedEndpoint() {
  if (loop_) loop_->stop();
  if (thread_.joinable()) thread_.join();
  endpoint_.reset();  // the loop has stopped: safe from this thread
}

}  // namespace sockit::metrics
