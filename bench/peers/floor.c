/*
 * floor.c: the "Node floor" peer for `npm run bench`: the least any Node.js addon can do
 * for the work pidfd.spawn's kill() -> exited does. A bare N-API call sends the signal;
 * a uv_poll on the pidfd, in the environment's loop, reaps the child with
 * waitid(P_PIDFD) and calls one JS function (napi_make_callback: one callback scope,
 * then the microtasks) with the raw status. No validation, no status object, no batching.
 * What pidfd costs above this row is the library; what this row costs above C is Node.
 *
 * Build (run.mjs does it): cc -O2 -shared -fPIC -I<node headers> -o floor.node floor.c
 *
 *   spawnSleep() -> [pid, pidfd]     posix_spawn /bin/sleep 1000, then pidfd_open
 *   watch(pidfd, fn)                 fn(si_status) once reaped; the watch owns pidfd
 *   kill(pidfd, sig) -> 0 | -errno   pidfd_send_signal
 */
#define _GNU_SOURCE
#include <errno.h>
#include <node_api.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <uv.h>

#include "pidfd_sys.h"

extern char **environ;

struct watch {
	uv_poll_t poll;
	int fd;
	napi_env env;
	napi_ref fn, resource;
	napi_async_context context;
};

static napi_value fail(napi_env env, const char *what)
{
	napi_throw_error(env, NULL, what);
	return NULL;
}

static void on_closed(uv_handle_t *handle)
{
	struct watch *w = handle->data;
	close(w->fd);
	free(w);
}

static void on_readable(uv_poll_t *handle, int status, int events)
{
	(void)status;
	(void)events;
	struct watch *w = handle->data;
	siginfo_t si;
	memset(&si, 0, sizeof si);
	if (syscall(SYS_waitid, WAITID_P_PIDFD, w->fd, &si, WEXITED | WNOHANG, NULL) == 0 && si.si_pid == 0)
		return; /* not a zombie yet */
	uv_poll_stop(handle);
	napi_env env = w->env;
	napi_handle_scope scope;
	napi_value fn, resource, arg;
	napi_open_handle_scope(env, &scope);
	if (napi_get_reference_value(env, w->fn, &fn) == napi_ok &&
	    napi_get_reference_value(env, w->resource, &resource) == napi_ok &&
	    napi_create_int32(env, si.si_pid ? si.si_status : -1, &arg) == napi_ok)
		napi_make_callback(env, w->context, resource, fn, 1, &arg, NULL);
	napi_close_handle_scope(env, scope);
	napi_delete_reference(env, w->fn);
	napi_delete_reference(env, w->resource);
	napi_async_destroy(env, w->context);
	uv_close((uv_handle_t *)handle, on_closed);
}

static napi_value spawn_sleep(napi_env env, napi_callback_info info)
{
	(void)info;
	static char *const argv[] = { "sleep", "1000", NULL };
	pid_t pid;
	if (posix_spawn(&pid, "/bin/sleep", NULL, NULL, argv, environ) != 0)
		return fail(env, "posix_spawn /bin/sleep failed");
	int fd = pidfd_open(pid, 0);
	if (fd < 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return fail(env, "pidfd_open failed");
	}
	napi_value pair, v;
	napi_create_array_with_length(env, 2, &pair);
	napi_create_int32(env, pid, &v);
	napi_set_element(env, pair, 0, v);
	napi_create_int32(env, fd, &v);
	napi_set_element(env, pair, 1, v);
	return pair;
}

static napi_value watch(napi_env env, napi_callback_info info)
{
	size_t argc = 2;
	napi_value argv[2], resource, name;
	uv_loop_t *loop;
	napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
	struct watch *w = calloc(1, sizeof *w);
	if (w == NULL)
		return fail(env, "out of memory");
	w->env = env;
	if (argc < 2 || napi_get_value_int32(env, argv[0], &w->fd) != napi_ok ||
	    napi_get_uv_event_loop(env, &loop) != napi_ok || uv_poll_init(loop, &w->poll, w->fd) != 0) {
		free(w);
		return fail(env, "watch(pidfd, fn): bad pidfd");
	}
	w->poll.data = w;
	napi_create_reference(env, argv[1], 1, &w->fn);
	napi_create_object(env, &resource);
	napi_create_reference(env, resource, 1, &w->resource);
	napi_create_string_utf8(env, "floor", NAPI_AUTO_LENGTH, &name);
	napi_async_init(env, resource, name, &w->context);
	uv_poll_start(&w->poll, UV_READABLE, on_readable);
	return NULL;
}

static napi_value kill_(napi_env env, napi_callback_info info)
{
	size_t argc = 2;
	napi_value argv[2], result;
	int fd = -1, sig = 0;
	napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
	napi_get_value_int32(env, argv[0], &fd);
	napi_get_value_int32(env, argv[1], &sig);
	int r = pidfd_send_signal(fd, sig);
	napi_create_int32(env, r == 0 ? 0 : -errno, &result);
	return result;
}

NAPI_MODULE_INIT()
{
	static const napi_property_descriptor fns[] = {
		{ "spawnSleep", NULL, spawn_sleep, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "watch", NULL, watch, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "kill", NULL, kill_, NULL, NULL, NULL, napi_enumerable, NULL },
	};
	napi_define_properties(env, exports, sizeof fns / sizeof fns[0], fns);
	return exports;
}
