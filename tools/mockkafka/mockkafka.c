/* mockkafka: librdkafka's mock cluster as a broker process of its own, for the tests.
 *
 *   mockkafka [-p PORT] [-b BROKERS] [-t TOPIC:PARTITIONS]... [-f BOOTSTRAP_FILE]
 *
 * Runs BROKERS mock brokers (1 by default) in this process, listening on 127.0.0.1: on PORT,
 * PORT+1, ... when -p is given, else on ports the system picks. Writes the bootstrap address
 * ("127.0.0.1:16092,...") to BOOTSTRAP_FILE (once every broker listens) and to stdout, and
 * runs until SIGTERM or SIGINT. Topics are created on first use with 4 partitions; -t creates
 * one beforehand with the partitions given.
 *
 * librdkafka 2.0 has no call to choose a mock broker's port (each binds 127.0.0.1:0), so this
 * program defines bind() itself: the library's calls reach it first, and it gives the first
 * BROKERS binds to port 0 the ports asked for. Built by scripts/brokers.sh with the system's C
 * compiler (it runs before the project is built): cc -O2 -o mockkafka mockkafka.c -lrdkafka */
#define _GNU_SOURCE
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <arpa/inet.h>
#include <dlfcn.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static int next_port = 0;  /* 0: the system picks */
static int ports_left = 0; /* binds still to be given a port */

int bind(int fd, const struct sockaddr *addr, socklen_t len) {
  static int (*real_bind)(int, const struct sockaddr *, socklen_t) = NULL;
  if (!real_bind) {
    real_bind = (int (*)(int, const struct sockaddr *, socklen_t))dlsym(RTLD_NEXT, "bind");
  }
  if (next_port > 0 && ports_left > 0 && addr && addr->sa_family == AF_INET &&
      len >= (socklen_t)sizeof(struct sockaddr_in) &&
      ((const struct sockaddr_in *)addr)->sin_port == 0) {
    struct sockaddr_in fixed;
    memcpy(&fixed, addr, sizeof fixed);
    fixed.sin_port = htons((unsigned short)next_port++);
    --ports_left;
    return real_bind(fd, (const struct sockaddr *)&fixed, sizeof fixed);
  }
  return real_bind(fd, addr, len);
}

static void usage(void) {
  fprintf(stderr, "usage: mockkafka [-p PORT] [-b BROKERS] [-t TOPIC:PARTITIONS]... [-f FILE]\n");
  exit(2);
}

int main(int argc, char **argv) {
  int brokers = 1;
  const char *file = NULL;
  const char *topics[64];
  int ntopics = 0;
  for (int i = 1; i < argc; ++i) {
    if (i + 1 >= argc) usage();
    if (!strcmp(argv[i], "-p")) {
      next_port = atoi(argv[++i]);
      if (next_port <= 0 || next_port > 65535) usage();
    } else if (!strcmp(argv[i], "-b")) {
      brokers = atoi(argv[++i]);
      if (brokers < 1 || brokers > 16) usage();
    } else if (!strcmp(argv[i], "-t")) {
      if (ntopics == 64) usage();
      topics[ntopics++] = argv[++i];
    } else if (!strcmp(argv[i], "-f")) {
      file = argv[++i];
    } else {
      usage();
    }
  }
  ports_left = next_port > 0 ? brokers : 0;

  /* SIGTERM and SIGINT are waited for by this thread alone: blocked before librdkafka starts
   * its threads, which inherit the mask. */
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, NULL);

  char err[512];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  /* Warnings only: the handle has no brokers of its own to talk to, which it would notice. */
  rd_kafka_conf_set(conf, "log_level", "4", err, sizeof err);
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (!rk) {
    fprintf(stderr, "mockkafka: %s\n", err);
    return 1;
  }
  rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, brokers);
  if (!mc) {
    fprintf(stderr, "mockkafka: cannot create the mock cluster (port %d taken?)\n", next_port);
    return 1;
  }
  for (int i = 0; i < ntopics; ++i) {
    char name[256];
    const char *colon = strrchr(topics[i], ':');
    if (!colon || colon == topics[i] || (size_t)(colon - topics[i]) >= sizeof name) usage();
    memcpy(name, topics[i], (size_t)(colon - topics[i]));
    name[colon - topics[i]] = '\0';
    if (rd_kafka_mock_topic_create(mc, name, atoi(colon + 1), brokers < 3 ? brokers : 3)) {
      fprintf(stderr, "mockkafka: cannot create topic %s\n", topics[i]);
      return 1;
    }
  }
  const char *bootstraps = rd_kafka_mock_cluster_bootstraps(mc);
  printf("%s\n", bootstraps);
  fflush(stdout);
  if (file) {
    /* Written whole under another name, then renamed: a reader never sees half of it. */
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", file);
    FILE *f = fopen(tmp, "w");
    if (!f || fprintf(f, "%s\n", bootstraps) < 0 || fclose(f) != 0 || rename(tmp, file) != 0) {
      fprintf(stderr, "mockkafka: cannot write %s\n", file);
      return 1;
    }
  }
  int sig = 0;
  sigwait(&stop, &sig);
  rd_kafka_mock_cluster_destroy(mc);
  rd_kafka_destroy(rk);
  return 0;
}
