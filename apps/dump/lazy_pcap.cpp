// libpcap, loaded on the first pcap_* call (common/lazy_lib.hpp): only `sockit dump` needs it, and
// loading it pulls in libdbus, libsystemd and their dependencies at every start-up otherwise.
// The signatures are pcap.h's: a mismatch does not compile.
#include "common/lazy_lib.hpp"

#include <pcap/pcap.h>

namespace {
constexpr const char* kPcap = "libpcap.so.0.8";
}

extern "C" {

pcap_t* pcap_create(const char* source, char* errbuf) { SOCKIT_LAZY_FORWARD(kPcap, pcap_create, source, errbuf); }
pcap_t* pcap_open_offline(const char* file, char* errbuf) { SOCKIT_LAZY_FORWARD(kPcap, pcap_open_offline, file, errbuf); }
int pcap_set_snaplen(pcap_t* p, int v) { SOCKIT_LAZY_FORWARD(kPcap, pcap_set_snaplen, p, v); }
int pcap_set_promisc(pcap_t* p, int v) { SOCKIT_LAZY_FORWARD(kPcap, pcap_set_promisc, p, v); }
int pcap_set_timeout(pcap_t* p, int v) { SOCKIT_LAZY_FORWARD(kPcap, pcap_set_timeout, p, v); }
int pcap_set_immediate_mode(pcap_t* p, int v) { SOCKIT_LAZY_FORWARD(kPcap, pcap_set_immediate_mode, p, v); }
int pcap_set_buffer_size(pcap_t* p, int v) { SOCKIT_LAZY_FORWARD(kPcap, pcap_set_buffer_size, p, v); }
int pcap_activate(pcap_t* p) { SOCKIT_LAZY_FORWARD(kPcap, pcap_activate, p); }
void pcap_close(pcap_t* p) { SOCKIT_LAZY_FORWARD(kPcap, pcap_close, p); }
int pcap_loop(pcap_t* p, int count, pcap_handler callback, u_char* user) { SOCKIT_LAZY_FORWARD(kPcap, pcap_loop, p, count, callback, user); }
void pcap_breakloop(pcap_t* p) { SOCKIT_LAZY_FORWARD(kPcap, pcap_breakloop, p); }
int pcap_stats(pcap_t* p, struct pcap_stat* ps) { SOCKIT_LAZY_FORWARD(kPcap, pcap_stats, p, ps); }
int pcap_setfilter(pcap_t* p, struct bpf_program* fp) { SOCKIT_LAZY_FORWARD(kPcap, pcap_setfilter, p, fp); }
const char* pcap_statustostr(int error) { SOCKIT_LAZY_FORWARD(kPcap, pcap_statustostr, error); }
char* pcap_geterr(pcap_t* p) { SOCKIT_LAZY_FORWARD(kPcap, pcap_geterr, p); }
int pcap_compile(pcap_t* p, struct bpf_program* fp, const char* str, int optimize, bpf_u_int32 netmask) {
  SOCKIT_LAZY_FORWARD(kPcap, pcap_compile, p, fp, str, optimize, netmask);
}
void pcap_freecode(struct bpf_program* fp) { SOCKIT_LAZY_FORWARD(kPcap, pcap_freecode, fp); }
int pcap_datalink(pcap_t* p) { SOCKIT_LAZY_FORWARD(kPcap, pcap_datalink, p); }
int pcap_set_datalink(pcap_t* p, int dlt) { SOCKIT_LAZY_FORWARD(kPcap, pcap_set_datalink, p, dlt); }
const char* pcap_datalink_val_to_name(int dlt) { SOCKIT_LAZY_FORWARD(kPcap, pcap_datalink_val_to_name, dlt); }
const char* pcap_datalink_val_to_description(int dlt) { SOCKIT_LAZY_FORWARD(kPcap, pcap_datalink_val_to_description, dlt); }
int pcap_snapshot(pcap_t* p) { SOCKIT_LAZY_FORWARD(kPcap, pcap_snapshot, p); }
pcap_dumper_t* pcap_dump_open(pcap_t* p, const char* file) { SOCKIT_LAZY_FORWARD(kPcap, pcap_dump_open, p, file); }
int pcap_dump_flush(pcap_dumper_t* d) { SOCKIT_LAZY_FORWARD(kPcap, pcap_dump_flush, d); }
void pcap_dump_close(pcap_dumper_t* d) { SOCKIT_LAZY_FORWARD(kPcap, pcap_dump_close, d); }
void pcap_dump(u_char* user, const struct pcap_pkthdr* h, const u_char* sp) { SOCKIT_LAZY_FORWARD(kPcap, pcap_dump, user, h, sp); }
int pcap_findalldevs(pcap_if_t** devs, char* errbuf) { SOCKIT_LAZY_FORWARD(kPcap, pcap_findalldevs, devs, errbuf); }
void pcap_freealldevs(pcap_if_t* devs) { SOCKIT_LAZY_FORWARD(kPcap, pcap_freealldevs, devs); }

}  // extern "C"
