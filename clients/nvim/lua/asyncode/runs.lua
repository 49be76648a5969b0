-- Runs: one `exec` each, shown inline as virtual lines under the last line of its code,
-- growing while output streams in, ending with the result or the error and the duration.
-- Output is matched to its run by `tag` (revision 1), else by the exec's request id; output
-- of a task the run started arrives later and still goes under the run's block.
local client = require('asyncode.client')
local sessions = require('asyncode.sessions')
local config = require('asyncode.config')
local Lines = require('asyncode.lines')
local ansi = require('asyncode.ansi')
local output = require('asyncode.output')
local mime = require('asyncode.mime')
local diagnostics = require('asyncode.diagnostics')

local M = {}

M.ns = vim.api.nvim_create_namespace('asyncode_inline')
local ns_range = vim.api.nvim_create_namespace('asyncode_range')

local uv = vim.uv or vim.loop
local runs = {} -- id -> run
local by_tag = {}
local by_request = {} -- request id -> run (per daemon generation)
local by_count = {} -- session name -> execCount -> run
local queue = {} -- session name -> list of runs not answered yet, in sending order
local next_id = 0
M.stats = { renders = 0, ticks = 0 }
M.all = runs

local Run = {}
Run.__index = Run

local function now_ms()
  return uv.hrtime() / 1e6
end

local function fmt_duration(ms)
  if not ms then
    return ''
  end
  if ms < 1000 then
    return string.format('%d ms', math.floor(ms + 0.5))
  elseif ms < 60000 then
    return string.format('%.2f s', ms / 1000)
  end
  return string.format('%d min %d s', math.floor(ms / 60000), math.floor(ms / 1000) % 60)
end
M.fmt_duration = fmt_duration

function Run:finished()
  return self.state ~= 'queued' and self.state ~= 'running'
end

--- "In [3] name.py:10-12" (the output buffer's header of this run).
function Run:label(later)
  local name = vim.api.nvim_buf_is_valid(self.bufnr) and vim.api.nvim_buf_get_name(self.bufnr) or ''
  name = name ~= '' and vim.fn.fnamemodify(name, ':t') or '[No Name]'
  local range = self.first == self.last and tostring(self.first + 1)
    or string.format('%d-%d', self.first + 1, self.last + 1)
  local count = self.exec_count and string.format('[%d] ', self.exec_count) or ''
  return string.format('── %s%s:%s%s ──', count, name, range, later and ' (later)' or '')
end

--- The rows the run's code covers now (edits above it move it).
function Run:rows()
  if not vim.api.nvim_buf_is_valid(self.bufnr) then
    return nil
  end
  local ok, pos = pcall(vim.api.nvim_buf_get_extmark_by_id, self.bufnr, ns_range, self.range_mark, { details = true })
  if not ok or not pos or not pos[1] then
    return nil
  end
  local first = pos[1]
  local last = pos[3] and pos[3].end_row or first
  return first, last
end

function Run:sync_rows()
  local first, last = self:rows()
  if first then
    self.first, self.last = first, math.max(first, last)
  end
end

local ticker = nil

local function any_busy()
  for _, run in pairs(runs) do
    if run.dirty or not run:finished() then
      return true
    end
  end
  return output.dirty
end

local render -- defined below

local function tick()
  M.stats.ticks = M.stats.ticks + 1
  local t = now_ms()
  local frames = #config.values.inline.spinner
  for _, run in pairs(runs) do
    if not run:finished() then
      local frame = math.floor((t - (run.t0 or t)) / 100) % frames
      if frame ~= run.frame then
        run.frame = frame
        run.dirty = true
      end
    end
    if run.dirty then
      render(run)
    end
  end
  output.flush()
  if not any_busy() and ticker then
    ticker:stop()
    ticker:close()
    ticker = nil
  end
end

--- Ask for a redraw at the next tick (all changes of one tick become one redraw).
local function schedule()
  if ticker then
    return
  end
  ticker = uv.new_timer()
  local ms = config.values.inline.update_ms or 50
  ticker:start(ms, ms, vim.schedule_wrap(function()
    if ticker then
      tick()
    end
  end))
end
M.schedule = schedule

--- Draw pending changes now (tests, and the end of :AsyncodeClear).
function M.flush()
  for _, run in pairs(runs) do
    if run.dirty then
      render(run)
    end
  end
  output.flush()
end

local function touch(run)
  run.dirty = true
  schedule()
end

-- The virtual lines of a run.
local function virt_lines(run)
  local v = {}
  local pad = string.rep(' ', run.indent or 0)
  local max = config.values.inline.max_lines or 10
  local out = run.out
  local shown = #out.kept + ((#out.cur > 0) and 1 or 0)
  local hidden = out.total - #out.kept
  if #out.cur > 0 and #out.kept >= max then
    hidden = hidden + 1
    shown = shown - 1
  end
  if hidden > 0 then
    table.insert(v, { { pad .. '┆ ', 'AsyncodeBorder' },
      { string.format('… %d more line%s in :AsyncodeOutput', hidden, hidden == 1 and '' or 's'), 'AsyncodeTruncated' } })
  end
  local first_kept = (#out.cur > 0 and #out.kept >= max) and 2 or 1
  for i = first_kept, #out.kept do
    local chunks = { { pad .. '│ ', 'AsyncodeBorder' } }
    for _, p in ipairs(out.kept[i]) do
      table.insert(chunks, { p[1], p[2] or 'AsyncodeOutput' })
    end
    table.insert(v, chunks)
  end
  if #out.cur > 0 then
    local chunks = { { pad .. '│ ', 'AsyncodeBorder' } }
    for _, p in ipairs(out.cur) do
      table.insert(chunks, { p[1], p[2] or 'AsyncodeOutput' })
    end
    table.insert(v, chunks)
  end
  local foot = { { pad .. '└ ', 'AsyncodeBorder' } }
  local st = run.state
  if st == 'queued' then
    table.insert(foot, { '⋯ queued', 'AsyncodeSpinner' })
  elseif st == 'running' then
    local frames = config.values.inline.spinner
    local elapsed = run.t0 and (now_ms() - run.t0) or 0
    table.insert(foot, { frames[(run.frame or 0) + 1] .. ' running', 'AsyncodeSpinner' })
    if elapsed >= 1000 then
      table.insert(foot, { ' · ' .. string.format('%d s', math.floor(elapsed / 1000)), 'AsyncodeDuration' })
    end
  else
    local result = run.result_lines or {}
    if st == 'ok' then
      if #result > 1 then
        for i = 1, math.min(#result, max) do
          table.insert(v, #v + 1, { { pad .. '│ ', 'AsyncodeBorder' }, { result[i], 'AsyncodeResult' } })
        end
        if #result > max then
          table.insert(v, { { pad .. '┆ ', 'AsyncodeBorder' },
            { string.format('… %d more lines in :AsyncodeOutput', #result - max), 'AsyncodeTruncated' } })
        end
        table.insert(foot, { '✓', 'AsyncodeOk' })
      elseif #result == 1 then
        table.insert(foot, { '✓ ', 'AsyncodeOk' })
        table.insert(foot, { result[1], 'AsyncodeResult' })
      else
        table.insert(foot, { '✓ done', 'AsyncodeOk' })
      end
    elseif st == 'interrupted' then
      table.insert(foot, { '✗ interrupted', 'AsyncodeInterrupted' })
    else
      table.insert(foot, { '✗ ' .. (run.summary or st), 'AsyncodeError' })
    end
    if run.duration then
      table.insert(foot, { ' · ' .. fmt_duration(run.duration), 'AsyncodeDuration' })
    end
  end
  table.insert(v, foot)
  return v
end
M.virt_lines = virt_lines

render = function(run)
  run.dirty = false
  if run.detached or not vim.api.nvim_buf_is_valid(run.bufnr) then
    return
  end
  local first, last = run:rows()
  if not first then
    return
  end
  run.first, run.last = first, math.max(first, last)
  M.stats.renders = M.stats.renders + 1
  run.mark = vim.api.nvim_buf_set_extmark(run.bufnr, M.ns, run.last, 0, {
    id = run.mark,
    virt_lines = virt_lines(run),
  })
end

--- Remove a run's inline block and diagnostics; its later output goes to the output buffer only.
function Run:detach()
  self.detached = true
  if vim.api.nvim_buf_is_valid(self.bufnr) then
    if self.mark then
      pcall(vim.api.nvim_buf_del_extmark, self.bufnr, M.ns, self.mark)
    end
    pcall(vim.api.nvim_buf_del_extmark, self.bufnr, ns_range, self.range_mark)
  end
  diagnostics.drop_run(self)
  if self:finished() then
    runs[self.id] = nil
  end
end

--- Runs of a buffer whose code overlaps rows first..last.
local function overlapping(bufnr, first, last)
  local out = {}
  for _, run in pairs(runs) do
    if run.bufnr == bufnr and not run.detached then
      local f, l = run:rows()
      if f and f <= last and l >= first then
        table.insert(out, run)
      end
    end
  end
  return out
end

local function queue_of(s)
  queue[s.name] = queue[s.name] or {}
  return queue[s.name]
end

local function head_started(s)
  local q = queue_of(s)
  local head = q[1]
  if head and head.state == 'queued' and (client.revision() < 1 or not client.optional('execStart')) then
    -- without execStart (revision 0): the oldest unanswered exec is the one running
    head.state = 'running'
    head.t0 = now_ms()
    touch(head)
  end
end

local function dequeue(run)
  local q = queue_of(run.session)
  for i, r in ipairs(q) do
    if r == run then
      table.remove(q, i)
      break
    end
  end
  head_started(run.session)
end

local function bundle_lines(bundle)
  return mime.render(bundle or {}).lines
end

--- The run's answer arrived.
local function finish(run, err, result)
  if run:finished() then
    return
  end
  run.t1 = now_ms()
  dequeue(run)
  if err then
    run.state = 'failed'
    run.summary = err.message or 'the request failed'
    run.duration = run.t0 and (run.t1 - run.t0) or nil
    output.lines(run, { '✗ ' .. run.summary }, 'AsyncodeError')
    touch(run)
    return
  end
  run.state = result.status or 'ok'
  run.answering = true
  run.duration = result.durationMs
  if result.execCount then
    run.exec_count = result.execCount
    by_count[run.session.name] = by_count[run.session.name] or {}
    by_count[run.session.name][result.execCount] = run
  end
  if result.result then
    run.result_lines = bundle_lines(result.result)
    output.lines(run, run.result_lines, 'AsyncodeResult')
  end
  local e = result.error
  if e then
    if run.state == 'interrupted' then
      run.summary = 'interrupted'
    elseif run.state == 'timeout' then
      run.summary = 'timed out'
    else
      run.summary = e.type .. ((e.message and e.message ~= '') and (': ' .. e.message) or '')
    end
    if e.formatted and e.formatted ~= '' then
      local lines = vim.split(e.formatted:gsub('\n$', ''), '\n', { plain = true })
      output.lines(run, lines, 'AsyncodeError')
    end
    if run.state == 'error' then
      run:sync_rows()
      diagnostics.from_error(run, e, M)
    end
  end
  output.lines(run, { string.format('%s %s', run.state == 'ok' and '✓' or '✗', fmt_duration(run.duration)) },
    'AsyncodeDuration')
  run.answering = false
  touch(run)
end

--- The run whose output this is (params of output, display, execStart, ...).
local function owner(p)
  if p.tag and by_tag[p.tag] then
    return by_tag[p.tag]
  end
  if p.requestId then
    return by_request[p.requestId]
  end
  return nil
end
M.owner = owner

local function on_output(p)
  local run = owner(p)
  local text = p.text or ''
  if run and p.execCount and not run.exec_count then
    run.exec_count = p.execCount
  end
  output.write(run, p.stream, text)
  if not run then
    return
  end
  if run.clear_on_next then
    run.clear_on_next = false
    run.out = Lines.new({ keep = config.values.inline.max_lines or 10 })
  end
  local st = run.ansi[p.stream] or {}
  run.ansi[p.stream] = st
  local pieces = ansi.parse(st, text)
  if p.stream == 'stderr' then
    for _, piece in ipairs(pieces) do
      piece[2] = piece[2] or 'AsyncodeStderr'
    end
  end
  run.out:push(pieces)
  touch(run)
end

local function on_display(p)
  local run = owner(p)
  local lines = bundle_lines(p.data)
  output.lines(run, lines, 'AsyncodeResult')
  if not run then
    return
  end
  local last = run.last_display
  if p.update and p.displayId and last and last.id == p.displayId and last.total == run.out.total
    and #run.out.cur == 0 then
    -- an update of the display shown last, with nothing written since: replace it in place
    run.out:drop(last.count)
  end
  for _, l in ipairs(lines) do
    run.out:push({ { l .. '\n', 'AsyncodeResult' } })
  end
  run.last_display = p.displayId and { id = p.displayId, total = run.out.total, count = #lines } or nil
  touch(run)
end

local function on_exec_start(p)
  local run = owner(p)
  if not run then
    return
  end
  run.exec_count = p.execCount or run.exec_count
  if run.state == 'queued' then
    run.state = 'running'
    run.t0 = now_ms()
  end
  output.start(run)
  touch(run)
end

local function on_clear_output(p)
  local run = owner(p)
  if not run then
    return
  end
  if p.wait then
    run.clear_on_next = true
  else
    run.out = Lines.new({ keep = config.values.inline.max_lines or 10 })
    touch(run)
  end
end

local function on_task_error(p)
  local run = owner(p)
  if run and p.error then
    run:sync_rows()
    diagnostics.from_error(run, p.error, M)
  end
end

client.on(client.method.output, on_output)
client.on(client.method.display, on_display)
-- Revision 1's notifications are handled once the schema (so protocol.lua) lists them.
if client.optional('execStart') then
  client.on(client.optional('execStart'), on_exec_start)
end
if client.optional('clearOutput') then
  client.on(client.optional('clearOutput'), on_clear_output)
end
if client.optional('taskError') then
  client.on(client.optional('taskError'), on_task_error)
end

client.on(client.method.status, function(p)
  -- a new worker counts execs from 1 again: <cell N> names other code from now on
  if p.state == 'dead' or p.reason == 'restart' or p.reason == 'crash' then
    M.forget_counts(p.session)
  end
end)

client.on_exit(function(code, signal, expected)
  local why = expected and 'the daemon was stopped'
    or ('the daemon exited (' .. ((signal and signal ~= 0) and ('signal ' .. signal) or ('code ' .. tostring(code))) .. ')')
  for _, run in pairs(runs) do
    if not run:finished() then
      run.state = 'failed'
      run.summary = why
      touch(run)
    end
  end
  queue = {}
  by_request = {}
  by_count = {}
end)

--- Forget which run had which execCount in a session (its worker was replaced).
function M.forget_counts(session_name)
  by_count[session_name] = nil
end

--- A run of `session` whose traceback filename and line are these (see diagnostics).
function M.by_filename(session, filename, line)
  if not filename then
    return nil
  end
  local n = filename:match('^<cell (%d+)>$')
  if n then
    return (by_count[session.name] or {})[tonumber(n)]
  end
  local best
  for _, run in pairs(runs) do
    if run.session == session and run.filename == filename and line >= run.wire_first
      and line < run.wire_first + #run.code_lines and (not best or run.id > best.id) then
      best = run
    end
  end
  return best
end

--- compile the run's code; cb(SyntaxErrorInfo or nil).
function M.compile(run, cb)
  sessions.request(run.session, client.method.compile,
    { code = table.concat(run.code_lines, '\n'), mode = run.mode }, function(err, result)
      cb(not err and result and result.error or nil)
    end)
end

--- Run code. opts: {bufnr, first, last (0-based rows), code_lines, mode?, col_offset?, indent?}
function M.submit(opts)
  local bufnr = opts.bufnr
  local s = sessions.for_buffer(bufnr)
  -- a re-run replaces what earlier runs of these lines showed
  for _, old in ipairs(overlapping(bufnr, opts.first, opts.last)) do
    old:detach()
  end
  diagnostics.drop_rows(bufnr, opts.first, opts.last)
  next_id = next_id + 1
  local run = setmetatable({
    id = next_id,
    tag = string.format('nvim:%d:%d', vim.fn.getpid(), next_id),
    bufnr = bufnr,
    session = s,
    first = opts.first,
    last = opts.last,
    code_lines = opts.code_lines,
    mode = opts.mode or 'cell',
    col_offset = opts.col_offset or 0,
    indent = opts.indent or 0,
    state = 'queued',
    out = Lines.new({ keep = config.values.inline.max_lines or 10 }),
    ansi = {},
    wire_first = 1,
  }, Run)
  local last_line = vim.api.nvim_buf_get_lines(bufnr, run.last, run.last + 1, false)[1] or ''
  run.range_mark = vim.api.nvim_buf_set_extmark(bufnr, ns_range, run.first, 0, {
    end_row = run.last,
    end_col = #last_line,
    right_gravity = false,
    end_right_gravity = true,
  })
  runs[run.id] = run
  by_tag[run.tag] = run
  touch(run)

  sessions.ensure(s, function(err)
    if err then
      return finish(run, { message = err })
    end
    local name = vim.api.nvim_buf_get_name(bufnr)
    local params = {
      session = s.name,
      code = table.concat(run.code_lines, '\n'),
      mode = run.mode,
      tag = run.tag,
      firstLine = run.first + 1,
    }
    if client.revision() >= 1 then
      run.wire_first = run.first + 1
      if name ~= '' then
        params.filename = vim.fn.fnamemodify(name, ':p')
        run.filename = params.filename
      end
    end
    local q = queue_of(s)
    table.insert(q, run)
    client.request(client.method.exec, params, function(e, result)
      finish(run, e, result)
    end, function(id)
      run.request_id = id
      by_request[id] = run
      head_started(s)
    end)
  end)
  return run
end

--- Remove every run's inline block and diagnostic in a buffer.
function M.clear(bufnr)
  for _, run in pairs(runs) do
    if run.bufnr == bufnr then
      run:detach()
    end
  end
  vim.api.nvim_buf_clear_namespace(bufnr, M.ns, 0, -1)
  diagnostics.clear_buffer(bufnr)
end

--- The newest run that is not finished, in a session (for the statusline).
function M.running(s)
  local q = queue[s.name]
  return q and q[1] or nil
end

return M
