-- The one module that knows how `vim.lsp.rpc` differs between Neovim versions.
--
-- 0.7-0.9: start(cmd, cmd_args, dispatchers, extra) -> {pid?, handle?, request, notify, ...}
-- 0.10+:   start(cmd_list, dispatchers, extra)      -> {request, notify, is_closing, terminate}
-- Notifications are scheduled by 0.7 and by 0.10+, but not by every version in between, and
-- `on_exit` never is: every handler given here runs on the main loop, in arrival order.
-- `null` decodes to a missing key on 0.7 and to `vim.NIL` later: `M.clean` removes it.
local M = {}

local uv = vim.uv or vim.loop

local has_010 = vim.fn.has('nvim-0.10') == 1

--- Run fn now when that is safe, else on the main loop; arrival order is kept either way,
--- because response callbacks are scheduled the moment they arrive as well.
local function on_main(fn)
  return function(...)
    if vim.in_fast_event() then
      local args = { n = select('#', ...), ... }
      vim.schedule(function()
        fn(unpack(args, 1, args.n))
      end)
    else
      fn(...)
    end
  end
end

--- Replace vim.NIL (a JSON null on 0.10+) by nil, recursively.
function M.clean(v)
  if v == vim.NIL then
    return nil
  end
  if type(v) == 'table' then
    for k, x in pairs(v) do
      if x == vim.NIL then
        v[k] = nil
      elseif type(x) == 'table' then
        M.clean(x)
      end
    end
  end
  return v
end

local function error_response(code, message)
  return { code = code, message = message }
end

--- Start `cmd` (a list: program and arguments) and speak JSON-RPC with it.
--- handlers: {notification(method, params), request(method, params) -> result|nil, err|nil,
---            exit(code, signal), error(kind, err)?}
--- opts: {cwd?, env?}
--- Returns a connection, or nil and a message.
function M.start(cmd, handlers, opts)
  opts = opts or {}
  local dispatchers = {
    notification = on_main(function(method, params)
      handlers.notification(method, M.clean(params) or {})
    end),
    server_request = function(method, params)
      local ok, result, err = pcall(handlers.request, method, M.clean(params) or {})
      if not ok then
        return nil, error_response(vim.lsp.protocol.ErrorCodes.InternalError, tostring(result))
      end
      if result == nil and err == nil then
        return nil, error_response(vim.lsp.protocol.ErrorCodes.MethodNotFound, 'unknown method ' .. method)
      end
      return result, err
    end,
    on_exit = vim.schedule_wrap(function(code, signal)
      handlers.exit(code, signal)
    end),
    on_error = function(kind, err)
      if handlers.error then
        vim.schedule(function()
          handlers.error(kind, err)
        end)
      end
    end,
  }
  local extra = { cwd = opts.cwd, env = opts.env }
  local ok, client
  if has_010 then
    ok, client = pcall(vim.lsp.rpc.start, cmd, dispatchers, extra)
  else
    ok, client = pcall(vim.lsp.rpc.start, cmd[1], vim.list_slice(cmd, 2), dispatchers, extra)
  end
  if not ok or not client then
    return nil, 'cannot start ' .. table.concat(cmd, ' ') .. (ok and '' or (': ' .. tostring(client)))
  end

  local conn = { closed = false }

  --- Send a request; cb(err, result) runs on the main loop. Returns the request id, or nil.
  function conn.request(method, params, cb)
    if conn.closed then
      return nil
    end
    local sent, id = client.request(method, params or vim.empty_dict(), function(err, result)
      cb(M.clean(err), M.clean(result))
    end)
    if not sent then
      return nil
    end
    return id
  end

  function conn.notify(method, params)
    if conn.closed then
      return false
    end
    return client.notify(method, params or vim.empty_dict())
  end

  function conn.is_closing()
    if conn.closed then
      return true
    end
    if client.is_closing then
      return client.is_closing()
    end
    return client.handle == nil or client.handle:is_closing()
  end

  --- Send SIGTERM (or `signal`) to the daemon.
  function conn.kill(signal)
    if client.handle then
      pcall(client.handle.kill, client.handle, signal or 15)
    elseif (signal or 15) == 15 and client.terminate then
      client.terminate()
    else
      local pid = conn.pid()
      if pid then
        uv.kill(pid, signal)
      end
    end
  end

  --- The daemon's process id: from vim.lsp.rpc on 0.7, else the child of this Neovim that
  --- runs the daemon's program.
  function conn.pid()
    if client.pid then
      return client.pid
    end
    if conn._pid then
      return conn._pid
    end
    local name = vim.fn.fnamemodify(cmd[1], ':t'):sub(1, 15)
    local newest
    for _, pid in ipairs(vim.api.nvim_get_proc_children(vim.fn.getpid())) do
      local info = vim.api.nvim_get_proc(pid)
      if info and info.name == name and (not newest or pid > newest) then
        newest = pid
      end
    end
    conn._pid = newest
    return newest
  end

  return conn
end

return M
