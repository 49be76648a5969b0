-- The daemon: started on first use, initialized once, restarted on the next use after it
-- died. Everything that talks to asyncoded goes through `M.request` and `M.on`.
local rpc = require('asyncode.rpc')
local config = require('asyncode.config')
local P = require('asyncode.protocol')

local M = {}

--- Wire names of the schema's methods; a name the schema lacks is an error at first use.
M.method = setmetatable({}, {
  __index = function(_, key)
    local name = P.method[key]
    if not name then
      error('asyncode: the schema has no method ' .. tostring(key), 2)
    end
    return name
  end,
})

--- The wire name of a revision 1 method when the schema has it, else nil.
function M.optional(key)
  return P.method[key]
end

local state = {
  conn = nil,
  ready = false, -- initialize answered
  starting = false,
  waiters = {}, -- callbacks waiting for initialize
  info = nil, -- initialize's result
  stopping = false,
  on_stopped = {}, -- callbacks of M.stop
  generation = 0, -- counts daemon starts
}
M.state = state

local listeners = {} -- wire method -> list of fn(params)
local request_handlers = {} -- wire method -> fn(params, id) -> result, err
local exit_listeners = {}

--- Listen to a notification from the daemon.
function M.on(method, fn)
  listeners[method] = listeners[method] or {}
  table.insert(listeners[method], fn)
end

--- Answer a request from the daemon: fn(params) -> result | nil, error.
function M.handle(method, fn)
  request_handlers[method] = fn
end

--- fn(code, signal, expected) when the daemon exits.
function M.on_exit(fn)
  table.insert(exit_listeners, fn)
end

local function notify(msg, level)
  vim.notify('asyncode: ' .. msg, level or vim.log.levels.INFO)
end
M.notify = notify

local function dispatch(method, params)
  for _, fn in ipairs(listeners[method] or {}) do
    local ok, err = pcall(fn, params)
    if not ok then
      notify(method .. ' handler failed: ' .. tostring(err), vim.log.levels.ERROR)
    end
  end
end

local function flush_waiters(err)
  local waiters = state.waiters
  state.waiters = {}
  for _, cb in ipairs(waiters) do
    cb(err)
  end
end

local function on_exit(code, signal)
  local expected = state.stopping
  state.conn = nil
  state.ready = false
  state.starting = false
  state.stopping = false
  state.info = nil
  flush_waiters('the daemon exited')
  if not expected then
    local how = (signal and signal ~= 0) and ('signal ' .. signal) or ('code ' .. tostring(code))
    notify('asyncoded exited (' .. how .. '); it starts again on the next command', vim.log.levels.WARN)
  end
  for _, fn in ipairs(exit_listeners) do
    pcall(fn, code, signal, expected)
  end
  local stopped = state.on_stopped
  state.on_stopped = {}
  for _, fn in ipairs(stopped) do
    pcall(fn)
  end
end

local function plugin_version()
  return '0.1.0'
end
M.version = plugin_version

local log_levels = { trace = 0, debug = 1, info = 2, warn = 3, error = 4, critical = 5 }
local vim_levels = { trace = vim.log.levels.TRACE, debug = vim.log.levels.DEBUG, info = vim.log.levels.INFO,
  warn = vim.log.levels.WARN, error = vim.log.levels.ERROR, critical = vim.log.levels.ERROR }

-- The daemon's log lines at or above the log_level option, as notifications.
M.on(M.method.log, function(p)
  local least = log_levels[config.values.log_level or 'error'] or 4
  if (log_levels[p.level] or 4) >= least then
    vim.notify('asyncoded: ' .. tostring(p.message), vim_levels[p.level] or vim.log.levels.ERROR)
  end
end)

--- Start the daemon when needed; cb(err) once it has answered initialize.
function M.ensure(cb)
  if state.ready then
    return cb(nil)
  end
  table.insert(state.waiters, cb)
  if state.starting then
    return
  end
  local cmd = config.daemon_cmd()
  if not cmd then
    return flush_waiters('asyncoded not found: set $ASYNCODE_DAEMON, put it on PATH or pass setup{cmd = ...}')
  end
  state.starting = true
  local conn, err = rpc.start(cmd, {
    notification = dispatch,
    request = function(method, params)
      local fn = request_handlers[method]
      if not fn then
        return nil
      end
      return fn(params)
    end,
    exit = on_exit,
    error = function(kind, e)
      if state.conn then
        notify('rpc error ' .. tostring(kind) .. ': ' .. vim.inspect(e), vim.log.levels.DEBUG)
      end
    end,
  })
  if not conn then
    state.starting = false
    return flush_waiters(err)
  end
  state.conn = conn
  state.generation = state.generation + 1
  local params = {
    clientInfo = { name = 'asyncode.nvim', version = plugin_version() },
    capabilities = { input = true, positionEncodings = { 'utf-8' } },
    logLevel = config.values.log_level,
  }
  conn.request(M.method.initialize, params, function(e, result)
    state.starting = false
    if e or not result then
      flush_waiters('initialize failed: ' .. (e and e.message or 'no answer'))
      return
    end
    state.info = result
    state.ready = true
    flush_waiters(nil)
  end)
end

--- The revision of the protocol the daemon speaks (0 before revision 1).
function M.revision()
  return state.info and state.info.protocolRevision or 0
end

--- The unit of columns on the wire: what initialize answered, else code points (revision 0).
function M.encoding()
  return state.info and state.info.positionEncoding or 'utf-32'
end

function M.running()
  return state.conn ~= nil
end

--- Send a request once the daemon is ready. cb(err, result) where err is a message or an
--- error table {code, message}. on_sent(id) runs with the request's id once it is sent.
function M.request(method, params, cb, on_sent)
  cb = cb or function() end
  M.ensure(function(err)
    if err then
      return cb({ message = err })
    end
    local id = state.conn.request(method, params, function(e, result)
      cb(e, result)
    end)
    if not id then
      return cb({ message = 'the daemon is not running' })
    end
    if on_sent then
      on_sent(id)
    end
  end)
end

function M.notify_daemon(method, params)
  if state.conn then
    state.conn.notify(method, params)
  end
end

--- Send a request and wait for its answer (at most timeout_ms). Returns err, result.
function M.request_sync(method, params, timeout_ms)
  local done, err, result = false, nil, nil
  M.request(method, params, function(e, r)
    done, err, result = true, e, r
  end)
  local ok = vim.wait(timeout_ms or 2000, function()
    return done
  end, 10)
  if not ok then
    return { message = 'timed out' }, nil
  end
  return err, result
end

function M.pid()
  return state.conn and state.conn.pid()
end

--- Stop the daemon: shutdown, exit, and SIGTERM if it is still there after a while.
--- cb() when it has exited (or at once when it was not running).
function M.stop(cb)
  cb = cb or function() end
  local conn = state.conn
  if not conn then
    return cb()
  end
  state.stopping = true
  table.insert(state.on_stopped, cb)
  conn.request(M.method.shutdown, nil, function()
    conn.notify(M.method.exit, nil)
  end)
  vim.defer_fn(function()
    if state.conn == conn then
      conn.kill(15)
    end
  end, 1000)
end

return M
