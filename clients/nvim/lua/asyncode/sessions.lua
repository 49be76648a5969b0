-- Sessions: one per project root by default. A session is opened (session/open) before its
-- first request, and again after the daemon came back.
local client = require('asyncode.client')
local config = require('asyncode.config')

local M = {}

local sessions = {} -- name -> {name, root, opened, opening, waiters, state, pid, backend}
M.all = sessions

local function exists(path)
  return (vim.uv or vim.loop).fs_stat(path) ~= nil
end

local roots = {} -- folder -> its project root (the statusline asks often)

--- The project root of a buffer: the nearest folder upwards holding a root marker, else
--- the buffer's folder, else the current directory.
function M.root_of(bufnr)
  local name = vim.api.nvim_buf_get_name(bufnr)
  local key = name ~= '' and vim.fn.fnamemodify(name, ':p:h') or ('cwd:' .. vim.fn.getcwd())
  if not roots[key] then
    roots[key] = M.find_root(name)
  end
  return roots[key]
end

--- Forget the roots found (the root_markers option changed).
function M.forget_roots()
  roots = {}
end

function M.find_root(name)
  local dir = name ~= '' and vim.fn.fnamemodify(name, ':p:h') or vim.fn.getcwd()
  local d = dir
  while d and d ~= '' do
    for _, marker in ipairs(config.values.root_markers or {}) do
      if exists(d .. '/' .. marker) then
        return d
      end
    end
    local parent = vim.fn.fnamemodify(d, ':h')
    if parent == d then
      break
    end
    d = parent
  end
  return name ~= '' and dir or vim.fn.getcwd()
end

--- The session of a buffer (a record; not opened yet perhaps).
function M.for_buffer(bufnr)
  bufnr = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
  local name, root
  local b = vim.b[bufnr].asyncode_session
  if type(b) == 'string' and b ~= '' then
    name, root = b, M.root_of(bufnr)
  elseif config.values.session then
    name, root = config.values.session(bufnr)
    root = root or M.root_of(bufnr)
  else
    root = M.root_of(bufnr)
    name = root
  end
  local s = sessions[name]
  if not s then
    s = { name = name, root = root, opened = false, waiters = {}, state = 'closed' }
    sessions[name] = s
  end
  return s
end

function M.get(name)
  return sessions[name]
end

local function open_params(s)
  local v = config.values
  local p = { session = s.name, backend = v.backend, cwd = s.root }
  if v.python and v.python ~= '' then
    p.python = vim.fn.expand(v.python)
  end
  if v.sync_in_loop then
    p.syncInLoop = true
  end
  return p
end

--- cb(err) once the session is open in the running daemon.
function M.ensure(s, cb)
  if s.opened and s.generation == client.state.generation and client.state.ready then
    return cb(nil)
  end
  table.insert(s.waiters, cb)
  if s.opening then
    return
  end
  s.opening = true
  client.request(client.method.session_open, open_params(s), function(err, result)
    s.opening = false
    local waiters = s.waiters
    s.waiters = {}
    if err then
      s.opened = false
      for _, w in ipairs(waiters) do
        w(err.message or vim.inspect(err))
      end
      return
    end
    s.opened = true
    s.generation = client.state.generation
    s.pid = result.pid
    s.backend = result.backend
    if s.state == 'closed' or s.state == 'dead' then
      s.state = 'idle'
    end
    for _, w in ipairs(waiters) do
      w(nil)
    end
  end)
end

--- Send a request for session s (opening it first); params.session is filled in.
function M.request(s, method, params, cb, on_sent)
  M.ensure(s, function(err)
    if err then
      return cb({ message = err })
    end
    params = params or {}
    params.session = s.name
    client.request(method, params, cb, on_sent)
  end)
end

client.on(client.method.status, function(p)
  local s = sessions[p.session]
  if not s then
    return
  end
  s.state = p.state
  s.pid = p.pid or s.pid
  s.reason = p.reason
  vim.cmd('redrawstatus')
end)

client.on_exit(function()
  for _, s in pairs(sessions) do
    s.opened = false
    s.opening = false
    s.state = 'closed'
    local waiters = s.waiters
    s.waiters = {}
    for _, w in ipairs(waiters) do
      w('the daemon exited')
    end
  end
  pcall(vim.cmd, 'redrawstatus')
end)

return M
