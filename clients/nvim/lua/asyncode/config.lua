-- Options: defaults, merged with what `require('asyncode').setup{...}` is given.
local M = {}

local defaults = {
  -- The daemon: a list (program and arguments), or nil to look for it (see find_daemon).
  cmd = nil,
  -- Session settings: backend 'asyncio' or 'trio'; python: a venv or interpreter whose
  -- site-packages the session uses; sync_in_loop: run sync code inside the running loop.
  backend = 'asyncio',
  python = nil,
  sync_in_loop = false,
  -- One session per project root: the first folder upwards holding one of these.
  root_markers = { '.git', 'pyproject.toml', 'setup.py', 'setup.cfg', 'requirements.txt', '.asyncode' },
  -- A function(bufnr) -> session name, root folder; overrides root_markers.
  session = nil,
  -- Default mappings in Python buffers (see :help asyncode-mappings).
  mappings = false,
  -- Inline output: the last `max_lines` lines under the code; redrawn at most every
  -- `update_ms` milliseconds while output arrives.
  inline = { max_lines = 10, update_ms = 50, spinner = { '⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏' } },
  -- The output window (:AsyncodeOutput): 'bottom', 'right' or 'float'; size in lines or columns.
  output = { position = 'bottom', size = 12 },
  -- Where images from rich results are saved (nil: stdpath('cache')/asyncode/images).
  image_dir = nil,
  -- Milliseconds that omnifunc waits for the daemon (the first completion of a session
  -- imports jedi, which can take a few seconds).
  complete_timeout_ms = 5000,
  -- Least level of the daemon's log notifications shown with vim.notify.
  log_level = 'error',
}

M.values = vim.deepcopy(defaults)

function M.setup(opts)
  M.values = vim.tbl_deep_extend('force', vim.deepcopy(defaults), opts or {})
  return M.values
end

function M.defaults()
  return vim.deepcopy(defaults)
end

local function executable(path)
  return path and path ~= '' and vim.fn.executable(path) == 1
end

--- The daemon's command: the `cmd` option, else $ASYNCODE_DAEMON, else `asyncoded` on
--- PATH, else the build of the repository this plugin lives in (../../build/asyncoded).
function M.daemon_cmd()
  local cmd = M.values.cmd
  if type(cmd) == 'string' then
    return { cmd }
  elseif type(cmd) == 'table' and #cmd > 0 then
    return vim.deepcopy(cmd)
  end
  local env = vim.env.ASYNCODE_DAEMON
  if executable(env) then
    return { env }
  end
  if executable('asyncoded') then
    return { vim.fn.exepath('asyncoded') }
  end
  local here = debug.getinfo(1, 'S').source:sub(2)
  local repo = vim.fn.fnamemodify(here, ':p:h:h:h:h:h')
  local built = repo .. '/build/asyncoded'
  if executable(built) then
    return { built }
  end
  return nil
end

return M
