// Command testserver is the program podrun's tests run as containers.
//
// As a server (no arguments, or "serve") it listens on $LISTEN_ADDR, or
// else on ":"+$PORT (8080 by default), and answers:
//
//	GET /healthz         200, or 500 after /sethealthy?v=0
//	GET /ready           200 after /setready?v=1, else 503
//	GET /env             JSON {"env": os.Environ(), "args": os.Args, "cwd": …, "pid": …}
//	GET /file?path=P     the content of P, 404 when missing
//	GET /write?path=P    writes "x" to P; 500 with the error when that fails
//	GET /fork            starts a child ("sleep") in its process group; replies its pid
//	GET /exit?code=N     replies, then exits with N
//
// With IGNORE_SIGTERM=1 it (and its forked child) ignores SIGTERM.
//
// Other modes: "exit N" exits with N at once; "write-file P TEXT" writes
// TEXT to P and exits 0; "check-file P" exits 0 when P exists, else 1;
// "sleep" sleeps forever.
package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	if os.Getenv("IGNORE_SIGTERM") == "1" {
		signal.Ignore(syscall.SIGTERM)
	}
	mode := "serve"
	if len(os.Args) > 1 {
		mode = os.Args[1]
	}
	switch mode {
	case "serve":
		serve()
	case "exit":
		code, _ := strconv.Atoi(os.Args[2])
		fmt.Println("exiting with", code)
		os.Exit(code)
	case "write-file":
		if err := os.WriteFile(os.Args[2], []byte(os.Args[3]), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	case "check-file":
		if _, err := os.Stat(os.Args[2]); err != nil {
			os.Exit(1)
		}
	case "sleep":
		for {
			time.Sleep(time.Hour)
		}
	default:
		fmt.Fprintln(os.Stderr, "unknown mode", mode)
		os.Exit(2)
	}
}

func serve() {
	var healthy, ready atomic.Bool
	healthy.Store(true)
	mux := http.NewServeMux()
	// Probe targets a test switches: each answers 200 while its flag is on,
	// else its failure status; GET its setter with v=1 turns it on, any
	// other v off.
	for _, s := range []struct {
		path, setter string
		on           *atomic.Bool
		failure      int
	}{
		{"/healthz", "/sethealthy", &healthy, http.StatusInternalServerError},
		{"/ready", "/setready", &ready, http.StatusServiceUnavailable},
	} {
		mux.HandleFunc("GET "+s.path, func(w http.ResponseWriter, r *http.Request) {
			if !s.on.Load() {
				http.Error(w, http.StatusText(s.failure), s.failure)
				return
			}
			fmt.Fprintln(w, "ok")
		})
		mux.HandleFunc("GET "+s.setter, func(w http.ResponseWriter, r *http.Request) {
			s.on.Store(r.FormValue("v") == "1")
		})
	}
	mux.HandleFunc("GET /env", func(w http.ResponseWriter, r *http.Request) {
		cwd, _ := os.Getwd()
		json.NewEncoder(w).Encode(map[string]any{"env": os.Environ(), "args": os.Args, "cwd": cwd, "pid": os.Getpid()})
	})
	mux.HandleFunc("GET /file", func(w http.ResponseWriter, r *http.Request) {
		b, err := os.ReadFile(r.FormValue("path"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		w.Write(b)
	})
	mux.HandleFunc("GET /write", func(w http.ResponseWriter, r *http.Request) {
		if err := os.WriteFile(r.FormValue("path"), []byte("x"), 0o644); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	mux.HandleFunc("GET /fork", func(w http.ResponseWriter, r *http.Request) {
		cmd := exec.Command(os.Args[0], "sleep")
		if err := cmd.Start(); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		go cmd.Wait()
		fmt.Fprint(w, cmd.Process.Pid)
	})
	mux.HandleFunc("GET /exit", func(w http.ResponseWriter, r *http.Request) {
		code, _ := strconv.Atoi(r.FormValue("code"))
		fmt.Fprintln(w, "bye")
		w.(http.Flusher).Flush()
		go func() {
			time.Sleep(50 * time.Millisecond) // let the reply leave
			os.Exit(code)
		}()
	})
	addr := os.Getenv("LISTEN_ADDR")
	if addr == "" {
		port := os.Getenv("PORT")
		if port == "" {
			port = "8080"
		}
		addr = ":" + port
	}
	fmt.Println("listening on " + addr)
	if err := http.ListenAndServe(addr, mux); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
