// SPDX-License-Identifier: MIT
// lstmidi-studio: generate, see and hear music in the browser.
//
//   lstmidi-studio --model out/demo-model [--port 8080 --host 127.0.0.1 --runs runs]
//
// Serves one page on the given address (loopback unless told otherwise): the model's facts and
// loss curve; controls for every setting of lstmidi-generate; the results as piano rolls that
// play in the page (a Web Audio synthesiser in the page's own script, nothing fetched from
// elsewhere) and download as MIDI files, byte for byte the files lstmidi-generate writes for the
// same settings (both call music::PieceMaker). With --runs DIR the page also shows the loss
// curves of the training runs below DIR while they train.
//
// Safety: no request names a file on disk (the model and the runs folder are fixed here, saved
// primers and runs are chosen by index); uploads are capped at the MIDI reader's 4 MiB and go
// through the same guarded reader as files; generation jobs wait in a bounded queue (a full
// queue answers 429) and one worker runs them; connections are served by a fixed pool of
// threads with read and write timeouts, and when too many wait the server stops accepting
// until one is done; requests with a Host header other than the address served are refused
// (a web page elsewhere cannot reach the studio through DNS rebinding).
#include <pthread.h>
#include <sys/socket.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <lstmidi/lstmidi.hpp>
#include <lstmidi/music/generate_piece.hpp>
#include <lstmidi/music/music.hpp>
#include <lstmidi/version.hpp>

// After Eigen: one of the headers cpp-httplib pulls in defines a macro that breaks Eigen's.
#include <httplib.h>

#include "cli_main.hpp"
#include "jobs.hpp"
#include "json_writer.hpp"
#include "requests.hpp"
#include "studio_page.hpp"  // kStudioHtml, kStudioJs: page.html and studio.js, built in

namespace fs = std::filesystem;
using namespace lstmidi;
using namespace lstmidi::studio;

namespace {

/// Serves connections on `n` threads; when `max_waiting` connections already wait, the
/// listening thread serves the next one itself, so no more are accepted until one is done
/// (the kernel's backlog holds the rest): a flood of connections costs bounded memory.
class BoundedPool : public httplib::TaskQueue {
 public:
  BoundedPool(std::size_t n, std::size_t max_waiting) : max_waiting_(max_waiting) {
    for (std::size_t i = 0; i < n; ++i) threads_.emplace_back([this] { work(); });
  }
  void enqueue(std::function<void()> fn) override {
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (waiting_.size() < max_waiting_ && !shutdown_) {
        waiting_.push_back(std::move(fn));
        cv_.notify_one();
        return;
      }
    }
    fn();
  }
  void shutdown() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      shutdown_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
  }

 private:
  const std::size_t max_waiting_;
  std::vector<std::thread> threads_;
  std::deque<std::function<void()>> waiting_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool shutdown_ = false;
  void work() {
    for (;;) {
      std::function<void()> fn;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return shutdown_ || !waiting_.empty(); });
        if (waiting_.empty()) return;
        fn = std::move(waiting_.front());
        waiting_.pop_front();
      }
      fn();
    }
  }
};

void answer_json(httplib::Response& res, int status, const std::string& json) {
  res.status = status;
  res.set_content(json, "application/json");
}

void answer_error(httplib::Response& res, int status, const std::string& message) {
  JsonWriter j;
  j.begin_object().key("error").value(printable_message(message)).end_object();
  answer_json(res, status, j.str());
}

bool loopback(const std::string& host) {
  return host == "127.0.0.1" || host == "localhost" || host == "::1";
}

// The model's facts for the page: what it is, its vocabulary and instruments, its saved
// openings (by index), its loss curve and evaluation when its folder has them.
std::string model_facts(const music::MusicModel<float>& mm, const fs::path& model_path,
                        bool half_supported) {
  JsonWriter j;
  j.begin_object();
  const ModelConfig& cfg = mm.model->config();
  const bool roll = mm.mode == ModelMode::pianoroll;
  fs::path shown = model_path;
  if (shown.filename().empty()) shown = shown.parent_path();
  j.key("name").value(shown.filename().string());
  j.key("mode").value(roll ? "pianoroll" : "tokens");
  j.key("encoding").value(roll ? "pianoroll" : music::to_string(mm.encoder.encoding));
  j.key("vocabulary").value(static_cast<long long>(cfg.vocab_size));
  j.key("embedding").value(static_cast<long long>(cfg.embedding_size));
  j.key("layers").begin_array();
  for (Index h : cfg.hidden_sizes) j.value(static_cast<long long>(h));
  j.end_array();
  j.key("parameters").value(static_cast<long long>(cfg.num_params()));
  j.key("instruments")
      .value(!roll && mm.encoder.encoding == music::Encoding::Events
                 ? music::known_instruments(mm.vocab)
                 : std::string());
  j.key("half_supported").value(half_supported);
  j.key("max_variations").value(kMaxVariations);
  j.key("primers").begin_array();
  try {
    for (const music::SavedPrimer& p : music::read_saved_primer_lines(model_path, &mm.meta)) {
      std::istringstream words(p.text);
      std::string shown_words, w;
      for (int n = 0; n < 10 && words >> w; ++n) shown_words += (n ? " " : "") + w;
      j.value(shown_words);
    }
  } catch (const std::exception&) {
    // No saved openings: the page offers typed notes and files only.
  }
  j.end_array();
  std::error_code ec;
  if (fs::is_directory(model_path, ec)) {
    j.key("history");
    write_history(j, model_path / "history.csv");
    if (auto text = read_small_text(model_path / "evaluation.txt"))
      j.key("evaluation").value(*text);
  }
  j.end_object();
  return j.str();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Generate, see and hear music in the browser with a trained lstmidi model",
               "lstmidi-studio"};
  cli::add_version(app);
  std::string model_dir, host = "127.0.0.1", runs_dir;
  int port = 8080, threads = 4, queue = 8, keep = 32;
  app.add_option("--model", model_dir,
                 "Model written by lstmidi-train: its folder, or its model.lstmidi alone")
      ->required();
  app.add_option("--port", port, "TCP port to serve on (0 = any free port, printed at start)")
      ->check(cli::Range(0, 65535))
      ->capture_default_str();
  app.add_option("--host", host,
                 "Address to serve on; the default serves this computer only (0.0.0.0 serves "
                 "every network it is on: anyone there can use the studio)")
      ->capture_default_str();
  app.add_option("--runs", runs_dir,
                 "Folder whose run folders (lstmidi-train --out) the page lists with their live "
                 "loss curves")
      ->check(CLI::ExistingDirectory);
  app.add_option("--queue", queue, "Generation requests that may wait; more are refused (429)")
      ->check(cli::Range(1, 1000))
      ->capture_default_str();
  app.add_option("--keep", keep, "Finished generations kept for the page to fetch")
      ->check(cli::Range(1, 1000))
      ->capture_default_str();
  app.add_option("--threads", threads, "Threads serving connections")
      ->check(cli::Range(1, 64))
      ->capture_default_str();

  return cli::run(app, argc, argv, [&]() -> int {
    cli::set_threads(1);
    // SIGINT and SIGTERM go to one thread that stops the server; every thread started from
    // here on inherits the blocked mask.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

    const fs::path model_path = model_dir;
    music::MusicModel<float> mm = music::load_music_model<float>(model_path);
    const bool half = LstmStepper<float>::half_supported();
    const std::string facts = model_facts(mm, model_path, half);
    const std::size_t max_upload = music::ReadOptions{}.limits.max_file_bytes;

    // Scratch folder for the MIDI files the writer produces before they are sent.
    std::string scratch_template = (fs::temp_directory_path() / "lstmidi-studio-XXXXXX").string();
    if (!mkdtemp(scratch_template.data()))
      throw IoError(scratch_template + ": cannot create a scratch folder");
    const fs::path scratch = scratch_template;
    JobQueue jobs(static_cast<std::size_t>(queue), static_cast<std::size_t>(keep), scratch);

    httplib::Server svr;
    svr.new_task_queue = [threads] {
      return new BoundedPool(static_cast<std::size_t>(threads), 64);
    };
    svr.set_read_timeout(5, 0);
    svr.set_write_timeout(5, 0);
    svr.set_keep_alive_max_count(20);
    svr.set_payload_max_length(max_upload + (std::size_t{256} << 10));
    svr.set_default_headers({{"X-Content-Type-Options", "nosniff"},
                             {"X-Frame-Options", "DENY"},
                             {"Referrer-Policy", "no-referrer"},
                             {"Cache-Control", "no-store"}});
    // cpp-httplib 0.11 listens with a backlog of 5: a burst of connections overflows it and the
    // kernel resets some. The listening socket passes through the socket options first, so the
    // studio keeps it and raises the backlog after binding (listen() again only resizes it).
    int listening = -1;  // the last socket made while binding: the one that bound
    std::atomic<bool> bound{false};
    svr.set_socket_options([&listening, &bound](int sock) {
      httplib::default_socket_options(sock);
      if (!bound) listening = sock;
    });
    int bound_port = port;
    svr.set_pre_routing_handler([&](const httplib::Request& req, httplib::Response& res) {
      if (!loopback(host)) return httplib::Server::HandlerResponse::Unhandled;
      const std::string h = req.get_header_value("Host");
      const std::string p = ":" + std::to_string(bound_port);
      if (h == "127.0.0.1" + p || h == "localhost" + p || h == "[::1]" + p)
        return httplib::Server::HandlerResponse::Unhandled;
      answer_error(res, 403, "this studio answers requests for its own address only");
      return httplib::Server::HandlerResponse::Handled;
    });
    svr.set_error_handler([](const httplib::Request&, httplib::Response& res) {
      if (!res.body.empty()) return;
      const std::string what = res.status == 404   ? "no such page"
                               : res.status == 413 ? "the request is too large (files up to 4 MiB)"
                               : res.status == 400 ? "malformed request"
                                                   : "request refused";
      answer_error(res, res.status, what);
    });
    svr.set_exception_handler(
        [](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
          std::string what = "internal error";
          try {
            if (ep) std::rethrow_exception(ep);
          } catch (const std::exception& e) {
            what = e.what();
          } catch (...) {
          }
          answer_error(res, 500, what);
        });

    const std::string csp =
        "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data: blob:; connect-src 'self'; media-src 'self' blob:; "
        "form-action 'none'; frame-ancestors 'none'; base-uri 'none'";
    svr.Get("/", [&](const httplib::Request&, httplib::Response& res) {
      res.set_header("Content-Security-Policy", csp);
      res.set_content(kStudioHtml, "text/html; charset=utf-8");
    });
    svr.Get("/studio.js", [&](const httplib::Request&, httplib::Response& res) {
      res.set_content(kStudioJs, "text/javascript; charset=utf-8");
    });
    svr.Get("/api/model",
            [&](const httplib::Request&, httplib::Response& res) { answer_json(res, 200, facts); });
    svr.Post("/api/generate", [&](const httplib::Request& req, httplib::Response& res) {
      auto job = std::make_shared<Job>();
      try {
        GenerateRequest g = parse_generate_form(req, half, max_upload);
        job->seed = g.seed;
        job->variations = g.variations;
        if (g.seed > UINT64_MAX - static_cast<std::uint64_t>(g.variations - 1))
          throw std::invalid_argument("seed: seed + variations - 1 is above 2^64 - 1");
        // Reads the vocabulary and metadata only (never the weights the worker steps).
        job->maker =
            std::make_unique<music::PieceMaker<float>>(mm, model_path, std::move(g.settings));
      } catch (const std::invalid_argument& e) {
        return answer_error(res, 400, e.what());
      } catch (const FormatError& e) {
        return answer_error(res, 400, e.what());
      }
      if (!jobs.submit(job)) {
        res.set_header("Retry-After", "2");
        return answer_error(res, 429,
                            "the studio is busy: " + std::to_string(queue) +
                                " generations are waiting; try again in a moment");
      }
      JsonWriter j;
      j.begin_object().key("job").value(std::to_string(job->id));
      j.key("waiting").value(static_cast<unsigned long>(jobs.position(*job))).end_object();
      answer_json(res, 202, j.str());
    });
    auto job_of = [&](const httplib::Request& req) -> std::shared_ptr<Job> {
      const std::string& id = req.matches[1];
      if (id.size() > 19) return nullptr;
      return jobs.find(std::stoull(id));
    };
    svr.Get(R"(/api/jobs/(\d+))", [&](const httplib::Request& req, httplib::Response& res) {
      const auto job = job_of(req);
      if (!job)
        return answer_error(res, 404, "no such generation (finished ones are kept a while)");
      const std::size_t waiting = jobs.position(*job);
      JsonWriter j;
      j.begin_object();
      j.key("job").value(std::to_string(job->id));
      jobs.read(*job, [&](const Job& jb) {
        const char* state = jb.state == Job::State::queued    ? "queued"
                            : jb.state == Job::State::running ? "running"
                            : jb.state == Job::State::done    ? "done"
                                                              : "failed";
        j.key("state").value(state);
        j.key("waiting").value(static_cast<unsigned long>(waiting));
        j.key("events_done").value(jb.events_done.load());
        j.key("events_total").value(jb.events_total);
        if (!jb.error.empty()) j.key("error").value(jb.error);
        j.key("variations").begin_array();
        for (const Variation& v : jb.results) write_piece_json(j, v.piece, v.seed, v.midi.size());
        j.end_array();
      });
      j.end_object();
      answer_json(res, 200, j.str());
    });
    svr.Get(R"(/api/jobs/(\d+)/midi/(\d+))",
            [&](const httplib::Request& req, httplib::Response& res) {
              const auto job = job_of(req);
              if (!job) return answer_error(res, 404, "no such generation");
              std::string bytes, name;
              jobs.read(*job, [&](const Job& jb) {
                const std::string& k = req.matches[2];
                if (k.size() > 3) return;
                const std::size_t i = std::stoul(k);
                if (i < jb.results.size()) {
                  bytes = jb.results[i].midi;
                  name = "lstmidi-" + std::to_string(jb.results[i].seed) + ".mid";
                }
              });
              if (bytes.empty()) return answer_error(res, 404, "no such piece");
              res.set_header("Content-Disposition", "attachment; filename=\"" + name + "\"");
              res.set_content(bytes, "audio/midi");
            });
    svr.Get("/api/runs", [&](const httplib::Request&, httplib::Response& res) {
      JsonWriter j;
      j.begin_object().key("enabled").value(!runs_dir.empty()).key("runs").begin_array();
      if (!runs_dir.empty())
        for (const fs::path& r : list_runs(runs_dir)) j.value(r.filename().string());
      j.end_array().end_object();
      answer_json(res, 200, j.str());
    });
    svr.Get(R"(/api/runs/(\d+))", [&](const httplib::Request& req, httplib::Response& res) {
      if (runs_dir.empty()) return answer_error(res, 404, "start the studio with --runs DIR");
      const std::vector<fs::path> runs = list_runs(runs_dir);
      const std::string& k = req.matches[1];
      if (k.size() > 6 || std::stoul(k) >= runs.size())
        return answer_error(res, 404, "no such run");
      const fs::path& run = runs[std::stoul(k)];
      JsonWriter j;
      j.begin_object().key("name").value(run.filename().string()).key("history");
      write_history(j, run / "history.csv");
      j.end_object();
      answer_json(res, 200, j.str());
    });

    if (port == 0) {
      bound_port = svr.bind_to_any_port(host);
      if (bound_port <= 0) throw IoError(host + ": cannot listen on any port");
    } else if (!svr.bind_to_port(host, port)) {
      throw IoError(host + ":" + std::to_string(port) +
                    ": cannot listen there (in use? try --port 0 for any free port)");
    }
    bound = true;
    if (listening < 0 || ::listen(listening, 256) != 0)
      throw IoError(host + ": cannot set the listening queue's length");
    const std::string shown_host = host.find(':') != std::string::npos ? "[" + host + "]" : host;
    std::cout << "lstmidi-studio: " << model_dir << " at http://" << shown_host << ":" << bound_port
              << "/  (Ctrl-C stops)" << std::endl;
    std::thread stopper([&] {
      int sig = 0;
      sigwait(&stop_signals, &sig);
      svr.stop();
    });
    svr.listen_after_bind();
    // Stopped by a signal, or listening failed: wake the signal thread if it still waits.
    pthread_kill(stopper.native_handle(), SIGTERM);
    stopper.join();
    jobs.stop();
    std::error_code ec;
    fs::remove_all(scratch, ec);
    std::cout << "lstmidi-studio: stopped" << std::endl;
    return 0;
  });
}
