-- A small test harness for headless Neovim (plenary is not available offline).
-- scripts/test.sh runs each *_spec.lua in its own Neovim:
--   nvim --headless -u NONE -i NONE --noplugin --cmd 'set rtp^=PLUGIN' \
--        -c "lua dofile('tests/harness.lua').main('tests/x_spec.lua', 'RESULTS')"
-- Each test prints "ok - name" or "not ok - name: why"; the counts go to RESULTS as "P F".
-- Tests wait for events with vim.wait on a predicate, never for a fixed time.
local T = {}

local tests = {}
local tmpdir = nil

function T.test(name, fn)
  table.insert(tests, { name = name, fn = fn })
end

local function fail(msg, level)
  error(msg, (level or 1) + 1)
end

function T.eq(expected, actual, what)
  if not vim.deep_equal(expected, actual) then
    fail(string.format('%sexpected %s, got %s', what and (what .. ': ') or '', vim.inspect(expected),
      vim.inspect(actual)), 2)
  end
end

function T.truthy(v, what)
  if not v then
    fail((what or 'expected a true value') .. ', got ' .. vim.inspect(v), 2)
  end
  return v
end

--- Plain-text search (no Lua patterns).
function T.has(haystack, needle, what)
  if type(haystack) == 'table' then
    haystack = table.concat(haystack, '\n')
  end
  if not tostring(haystack):find(needle, 1, true) then
    fail(string.format('%s%q not found in:\n%s', what and (what .. ': ') or '', needle, haystack), 2)
  end
end

function T.hasnt(haystack, needle, what)
  if type(haystack) == 'table' then
    haystack = table.concat(haystack, '\n')
  end
  if tostring(haystack):find(needle, 1, true) then
    fail(string.format('%s%q unexpectedly in:\n%s', what and (what .. ': ') or '', needle, haystack), 2)
  end
end

--- Wait until pred() is true (at most ms); fail naming `what` otherwise.
function T.wait(pred, what, ms)
  local ok = vim.wait(ms or 10000, function()
    local good, v = pcall(pred)
    return good and v
  end, 10)
  if not ok then
    fail('timed out waiting for ' .. (what or 'a condition'), 2)
  end
end

--- Call fn(callback) and wait until the callback runs; returns what it was given.
function T.await(fn, what, ms)
  local done, got = false, nil
  fn(function(...)
    done, got = true, { ... }
  end)
  T.wait(function()
    return done
  end, what, ms)
  return unpack(got)
end

--- A new project folder (a session of its own).
function T.project()
  local dir = vim.fn.tempname()
  vim.fn.mkdir(dir .. '/.git', 'p')
  return dir
end

function T.tmpdir()
  if not tmpdir then
    tmpdir = vim.fn.tempname()
    vim.fn.mkdir(tmpdir, 'p')
    -- a project root: every test buffer is in one project (one session)
    vim.fn.mkdir(tmpdir .. '/.git', 'p')
  end
  return tmpdir
end

local nbuf = 0
--- A Python buffer named like a file of the test's project (or at the absolute path
--- `name`), in the current window.
function T.buffer(lines, name)
  nbuf = nbuf + 1
  name = name or string.format('t%d.py', nbuf)
  local path = name:sub(1, 1) == '/' and name or (T.tmpdir() .. '/' .. name)
  vim.cmd('enew!')
  vim.api.nvim_buf_set_name(0, path)
  vim.api.nvim_buf_set_lines(0, 0, -1, false, lines)
  vim.bo.filetype = 'python'
  vim.bo.buftype = 'nofile'
  return vim.api.nvim_get_current_buf()
end

--- The inline blocks of a buffer: list of {row = 0-based, lines = {text...}}, sorted by row.
function T.virt(bufnr)
  local runs = require('asyncode.runs')
  runs.flush()
  local out = {}
  for _, m in ipairs(vim.api.nvim_buf_get_extmarks(bufnr or 0, runs.ns, 0, -1, { details = true })) do
    local lines = {}
    for _, l in ipairs(m[4].virt_lines or {}) do
      local s = {}
      for _, c in ipairs(l) do
        table.insert(s, c[1])
      end
      table.insert(lines, table.concat(s))
    end
    table.insert(out, { row = m[2], lines = lines })
  end
  table.sort(out, function(a, b)
    return a.row < b.row
  end)
  return out
end

--- The text of the inline block under row (0-based), or ''.
function T.block(bufnr, row)
  for _, b in ipairs(T.virt(bufnr)) do
    if b.row == row then
      return table.concat(b.lines, '\n')
    end
  end
  return ''
end

--- The newest run of a buffer.
function T.last_run(bufnr)
  local best
  for _, r in pairs(require('asyncode.runs').all) do
    if r.bufnr == (bufnr or vim.api.nvim_get_current_buf()) and (not best or r.id > best.id) then
      best = r
    end
  end
  return best
end

function T.finished(run, what, ms)
  T.wait(function()
    return run and run:finished()
  end, what or 'the run to finish', ms)
  require('asyncode.runs').flush()
  return run
end

--- Wait for the newest run of the buffer (newer than `after`) and for its end.
function T.run_of(bufnr, after, ms)
  local run
  T.wait(function()
    run = T.last_run(bufnr)
    return run and (not after or run.id > after.id)
  end, 'a new run', ms)
  return run
end

function T.output_lines()
  local output = require('asyncode.output')
  output.flush()
  return vim.api.nvim_buf_get_lines(output.bufnr(), 0, -1, false)
end

function T.write(s)
  io.stdout:write(s)
  io.stdout:flush()
end

--- Keys as a person types them (termcodes replaced), queued for the next prompt.
function T.feed(keys)
  vim.api.nvim_feedkeys(vim.api.nvim_replace_termcodes(keys, true, false, true), 't', false)
end

--- The daemon's protocol revision (starts the daemon).
local function daemon_revision()
  local client = require('asyncode.client')
  pcall(T.await, client.ensure, 'the daemon')
  return client.revision()
end

function T.main(spec, results)
  local passed, failed, skipped = 0, 0, 0
  local loaded, err = pcall(dofile, spec)
  if not loaded then
    T.write('not ok - loading ' .. spec .. ': ' .. tostring(err) .. '\n')
    failed = 1
  end
  local only = vim.env.ASYNCODE_TEST_ONLY
  for _, t in ipairs(loaded and tests or {}) do
    -- Tests named "[rev1] ..." need protocol revision 1: while the daemon speaks an older
    -- one they are skipped, loudly, unless ASYNCODE_REQUIRE_REV1 is set.
    local needs_rev1 = t.name:sub(1, 6) == '[rev1]'
    if (not only or t.name:find(only, 1, true)) and needs_rev1 and not vim.env.ASYNCODE_REQUIRE_REV1
      and daemon_revision() < 1 then
      skipped = skipped + 1
      T.write(string.format('skip - %s (the daemon speaks protocol revision %d)\n', t.name,
        require('asyncode.client').revision()))
    elseif not only or t.name:find(only, 1, true) then
      local t0 = (vim.uv or vim.loop).hrtime()
      local ok, e = xpcall(t.fn, debug.traceback)
      local ms = ((vim.uv or vim.loop).hrtime() - t0) / 1e6
      if ok then
        passed = passed + 1
        T.write(string.format('ok - %s (%d ms)\n', t.name, ms))
      else
        failed = failed + 1
        T.write(string.format('not ok - %s (%d ms)\n    %s\n', t.name, ms, tostring(e):gsub('\n', '\n    ')))
      end
    end
  end
  -- stop the daemon before leaving, so no process outlives the test
  local client = package.loaded['asyncode.client']
  if client and client.running() then
    client.stop()
    vim.wait(3000, function()
      return not client.running()
    end, 10)
  end
  local f = io.open(results, 'w')
  if f then
    f:write(string.format('%d %d %d\n', passed, failed, skipped))
    f:close()
  end
  vim.cmd(failed == 0 and 'qall!' or 'cquit 1')
end

return T
