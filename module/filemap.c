// SPDX-License-Identifier: GPL-2.0
/*
 * Mappings of real files in shadow address spaces, after mm/filemap.c's
 * filemap_fault() and mm/memory.c's do_read_fault(), do_cow_fault() and
 * do_shared_fault(), with do_mmap()'s checks of a file mapping.
 *
 * A file mapping's VMA points at a file object (struct shadow_address_space
 * with its file set, in a struct shadow_inode), one per struct file
 * mapped: it holds the file reference (get_file at the first mmap, fput
 * when the last VMA mapping it goes) and the VMAs that map it (i_mmap).
 * Every file object is on one list, which the rmap walk of a page-cache
 * page searches for the objects of the page's address_space.
 *
 * The pages are the file's own page cache, read through the exported
 * page-cache API (shmem_read_mapping_page_gfp() for tmpfs and memfds,
 * read_mapping_page() for the others). The engine never touches a page's
 * _mapcount, mapping or private: its metadata (struct shadow_page, with
 * @file set) is kept in a table keyed by pfn, and while the metadata
 * lives the engine holds one page reference (get_page). A PTE mapping the
 * page holds an engine reference, as for the engine's own pages.
 *
 * Dirty pages: a write through a shared mapping makes the PTE dirty; the
 * dirty bit moves to the page (set_page_dirty, as zap_pte_range() does)
 * when the PTE is zapped, unmapped by reclaim, or by msync.
 *
 * Truncation: the engine cannot hook truncate_pagecache(). A fault past
 * the end of file fails (SIGBUS), and so does any access through a PTE
 * that maps a page now past the end: the access unmaps it first, as
 * unmap_mapping_range() would have done. A PTE mapping a page that
 * truncation (or a hole punch) took out of the file is unmapped at its
 * next access too, which then maps the file's current page. Until then
 * the page stays mapped, out of the page cache, kept by the engine's
 * reference, and the page walk, smaps and reclaim still see it.
 *
 * Locks: the list of file objects is under shadow_file_objects_lock, an
 * rwsem taken inside mmap_lock and outside an object's i_mmap_rwsem (the
 * lock tree of mm.c); the pfn table's xa_lock is innermost (a page's last
 * engine reference may be dropped under a page_table_lock).
 */
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/falloc.h>
#include <linux/mman.h>
#include <linux/mount.h>
#include <linux/pagemap.h>
#include <linux/shmem_fs.h>
#include <linux/slab.h>
#include <linux/xarray.h>

#include "internal.h"
#include "trace.h"

static LIST_HEAD(shadow_file_objects);
static DECLARE_RWSEM(shadow_file_objects_lock);
/* pfn -> struct shadow_page of the page-cache pages the engine holds */
static DEFINE_XARRAY(shadow_file_pages);
static atomic64_t shadow_last_file_page_id;

/* Module exit: every file object and file page is gone by now. */
void shadow_filemap_exit(void)
{
	WARN_ON_ONCE(!xa_empty(&shadow_file_pages));
	WARN_ON_ONCE(!list_empty(&shadow_file_objects));
	xa_destroy(&shadow_file_pages);
}

/**
 * shadow_file_page_meta() - the metadata of a page-cache page the engine
 * maps
 * @page: a page the caller holds (a PTE, or a reference)
 *
 * Return: the metadata, or NULL when @page is not a file page of ours.
 */
struct shadow_page *shadow_file_page_meta(struct page *page)
{
	/*
	 * No file page mapped anywhere: no lookup. A file page the caller
	 * holds through a PTE or a reference has its entry already.
	 */
	if (xa_empty(&shadow_file_pages))
		return NULL;
	return xa_load(&shadow_file_pages, page_to_pfn(page));
}

/*
 * Can the engine map this file? A regular file whose pages it can read:
 * shmem's (tmpfs, memfd), or a file system's with ->read_folio.
 */
static bool shadow_file_mappable(struct file *file)
{
	struct address_space *mapping = file->f_mapping;

	if (!S_ISREG(file_inode(file)->i_mode) || !mapping)
		return false;
	return shadow_shmem_mapping(mapping) || mapping->a_ops->read_folio;
}

/**
 * shadow_file_object_get() - the file object of @fd, referenced
 * @fd: a file descriptor of the caller's
 *
 * Two mmaps of the same struct file share its object, so that their VMAs
 * may merge (same vm_file). A file the engine cannot read pages of (no
 * ->mmap, or not a regular file) is refused with -ENODEV, as mmap(2)
 * refuses a file without ->mmap.
 *
 * Return: the object, or an ERR_PTR: -EBADF, -ENODEV, -ENOMEM.
 */
struct shadow_address_space *shadow_file_object_get(int fd)
{
	static atomic_long_t last_id;
	struct shadow_inode *obj;
	struct file *file;

	file = fget(fd);
	if (!file)
		return ERR_PTR(-EBADF);

	down_write(&shadow_file_objects_lock);
	list_for_each_entry(obj, &shadow_file_objects, file_node) {
		if (obj->i_data.file == file &&
		    refcount_inc_not_zero(&obj->i_data.ref)) {
			up_write(&shadow_file_objects_lock);
			fput(file);
			return &obj->i_data;
		}
	}
	obj = kzalloc(sizeof(*obj), SHADOW_GFP);
	if (!obj) {
		up_write(&shadow_file_objects_lock);
		fput(file);
		return ERR_PTR(-ENOMEM);
	}
	refcount_set(&obj->i_data.ref, 1);
	obj->i_data.id = atomic_long_inc_return(&last_id);
	/* The object keeps fget()'s reference until it is freed. */
	obj->i_data.file = file;
	xa_init(&obj->pages);
	INIT_LIST_HEAD(&obj->i_mmap);
	init_rwsem(&obj->i_mmap_rwsem);
	list_add_tail(&obj->file_node, &shadow_file_objects);
	atomic_long_inc(&shadow_counters.files);
	up_write(&shadow_file_objects_lock);
	return &obj->i_data;
}

/**
 * shadow_file_object_release() - free a file object whose last reference
 * went (the fput() of remove_vma())
 * @obj: the object; no VMA maps it any more
 */
void shadow_file_object_release(struct shadow_inode *obj)
{
	struct file *file = obj->i_data.file;

	WARN_ON_ONCE(!list_empty(&obj->i_mmap));
	down_write(&shadow_file_objects_lock);
	list_del(&obj->file_node);
	up_write(&shadow_file_objects_lock);
	xa_destroy(&obj->pages);
	atomic_long_dec(&shadow_counters.files);
	kfree(obj);
	fput(file);
}

/**
 * shadow_filemap_walk_objects() - the file objects of an address_space
 * @mapping: the page's address_space
 * @fn: called for each, under shadow_file_objects_lock held for reading;
 *      returns false to stop
 * @arg: for @fn
 *
 * The objects of every struct file open on the inode: the i_mmap tree of
 * Linux's address_space, split by struct file.
 */
void shadow_filemap_walk_objects(struct address_space *mapping,
				 shadow_file_object_fn fn, void *arg)
{
	struct shadow_inode *obj;

	if (!mapping)
		return;
	down_read(&shadow_file_objects_lock);
	list_for_each_entry(obj, &shadow_file_objects, file_node)
		if (obj->i_data.file->f_mapping == mapping && !fn(obj, arg))
			break;
	up_read(&shadow_file_objects_lock);
}

/* The file objects of an address_space, pinned, for a walk without its lock. */
struct shadow_file_objects {
	struct shadow_inode **obj;
	unsigned int nr;
};

static bool shadow_file_objects_add(struct shadow_inode *obj, void *arg)
{
	struct shadow_file_objects *objs = arg;

	/* One whose last reference went is on its way off the list. */
	if (!refcount_inc_not_zero(&obj->i_data.ref))
		return true;
	if (!(objs->nr & (objs->nr + 1)))
		objs->obj = krealloc_array(objs->obj, 2 * objs->nr + 1,
					   sizeof(*objs->obj),
					   SHADOW_GFP_NOFAIL);
	objs->obj[objs->nr++] = obj;
	return true;
}

/* path_noexec(), which is not exported. */
static bool shadow_path_noexec(const struct path *path)
{
	return (path->mnt->mnt_flags & MNT_NOEXEC) ||
	       (path->mnt->mnt_sb->s_iflags & SB_I_NOEXEC);
}

/* file_mmap_size_max() and file_mmap_ok() of mm/mmap.c. */
static u64 shadow_file_mmap_size_max(struct file *file, struct inode *inode)
{
	if (S_ISREG(inode->i_mode) || S_ISBLK(inode->i_mode) ||
	    S_ISSOCK(inode->i_mode))
		return MAX_LFS_FILESIZE;
	if (shadow_file_unsigned_offset(file))
		return 0;
	return ULONG_MAX;
}

static bool shadow_file_mmap_ok(struct file *file, struct inode *inode,
				unsigned long pgoff, unsigned long len)
{
	u64 maxsize = shadow_file_mmap_size_max(file, inode);

	if (maxsize && len > maxsize)
		return false;
	maxsize -= len;
	if (pgoff > maxsize >> PAGE_SHIFT)
		return false;
	return true;
}

/**
 * shadow_file_mmap_check() - do_mmap()'s checks of a file mapping
 * @fobj: the file object
 * @len: page-aligned length
 * @prot: PROT_*
 * @flags: MAP_*
 * @pgoff: offset in pages
 * @vm_flags: the new VMA's flags, updated
 *
 * In do_mmap()'s order: -EOVERFLOW (file_mmap_ok), -EOPNOTSUPP
 * (MAP_SHARED_VALIDATE with flags the file does not take), -EACCES (shared
 * writable on a file not open for writing, append-only file, a file not
 * open for reading), -ETXTBSY (a swap file), -EPERM (PROT_EXEC on a noexec
 * mount), -ENODEV (no ->mmap, or a file the engine cannot map), -EINVAL
 * (MAP_GROWSDOWN, a bad map type). Memfd seals are not checked.
 *
 * Return: 0 or the errno.
 */
int shadow_file_mmap_check(struct shadow_address_space *fobj, unsigned long len,
			   unsigned long prot, unsigned long flags,
			   unsigned long pgoff, unsigned long *vm_flags)
{
	struct file *file = fobj->file;
	struct inode *inode = file_inode(file);
	unsigned long flags_mask;

	if (!shadow_file_mmap_ok(file, inode, pgoff, len))
		return -EOVERFLOW;

	flags_mask = LEGACY_MAP_MASK | shadow_file_mmap_supported_flags(file);

	switch (flags & MAP_TYPE) {
	case MAP_SHARED:
		/* Unsupported flags are silently ignored with MAP_SHARED. */
		flags &= LEGACY_MAP_MASK;
		fallthrough;
	case MAP_SHARED_VALIDATE:
		if (flags & ~flags_mask)
			return -EOPNOTSUPP;
		if (prot & PROT_WRITE) {
			if (!(file->f_mode & FMODE_WRITE))
				return -EACCES;
			if (IS_SWAPFILE(file->f_mapping->host))
				return -ETXTBSY;
		}
		/* Make sure we don't allow writing to an append-only file. */
		if (IS_APPEND(inode) && (file->f_mode & FMODE_WRITE))
			return -EACCES;

		*vm_flags |= VM_SHARED | VM_MAYSHARE;
		if (!(file->f_mode & FMODE_WRITE))
			*vm_flags &= ~(VM_MAYWRITE | VM_SHARED);
		fallthrough;
	case MAP_PRIVATE:
		if (!(file->f_mode & FMODE_READ))
			return -EACCES;
		if (shadow_path_noexec(&file->f_path)) {
			if (*vm_flags & VM_EXEC)
				return -EPERM;
			*vm_flags &= ~VM_MAYEXEC;
		}
		if (!file->f_op->mmap || !shadow_file_mappable(file))
			return -ENODEV;
		if (*vm_flags & VM_GROWSDOWN)
			return -EINVAL;
		break;
	default:
		return -EINVAL;
	}
	return 0;
}

/* Pages of the file: i_size rounded up to pages. */
static pgoff_t shadow_file_size_pages(struct file *file)
{
	return DIV_ROUND_UP(i_size_read(file_inode(file)), PAGE_SIZE);
}

/* linear_page_index() */
static pgoff_t shadow_file_index(struct shadow_vma *vma, unsigned long addr)
{
	return vma->vm_pgoff + ((addr - vma->vm_start) >> PAGE_SHIFT);
}

/**
 * shadow_file_beyond_eof() - is @addr of a file VMA past end of file?
 * @vma: the VMA
 * @addr: an address in it
 *
 * Return: true for a file VMA whose page at @addr starts at or past i_size.
 */
bool shadow_file_beyond_eof(struct shadow_vma *vma, unsigned long addr)
{
	struct file *file = shadow_vma_file(vma);

	return file && shadow_file_index(vma, addr) >=
		       shadow_file_size_pages(file);
}

/**
 * shadow_file_pte_stale() - does @entry map a page its file let go of?
 * @vma: a VMA, mapping a file or not
 * @entry: a PTE of it
 *
 * A page-cache page that truncation or a hole punch took out of the file
 * (page->mapping cleared) while the engine mapped it: Linux would have
 * unmapped it (unmap_mapping_range); the engine does at the next access.
 *
 * Return: true when @entry maps a file page no longer in @vma's file.
 */
bool shadow_file_pte_stale(struct shadow_vma *vma, pte_t entry)
{
	struct file *file = shadow_vma_file(vma);
	struct page *page;

	if (!file || !pte_present(entry) || pte_special(entry))
		return false;
	page = pte_page(entry);
	return shadow_page_meta(page)->file &&
	       READ_ONCE(page->mapping) != file->f_mapping;
}

/**
 * shadow_vfs_punch_hole() - vfs_fallocate(FALLOC_FL_PUNCH_HOLE |
 * FALLOC_FL_KEEP_SIZE) on the object a VMA maps, for MADV_REMOVE
 * @mapping: a file object or a shared anonymous object, pinned by the
 *           caller (get_file), who holds no mmap_lock
 * @offset: the hole's start in bytes
 * @len: its length in bytes
 *
 * A file's own fallocate punches the hole (its file system's checks and
 * errors: -EOPNOTSUPP, -EPERM for a sealed memfd, ...), then the engine's
 * PTEs of the pages it took out of the file go in every address space
 * mapping the file, through any of its struct files (the fallocate's
 * unmap_mapping_range(), which cannot reach the engine's tables); private
 * copies stay. A shared anonymous object is shmem's:
 * shadow_shmem_fallocate().
 *
 * Return: 0 or the fallocate's error.
 */
int shadow_vfs_punch_hole(struct shadow_address_space *mapping, loff_t offset,
			  loff_t len)
{
	struct shadow_file_objects objs = { };
	unsigned int i;
	int error;

	if (!mapping->file)
		return shadow_shmem_fallocate(mapping, offset, len);
	error = vfs_fallocate(mapping->file,
			      FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			      offset, len);
	if (error || !len)
		return error;
	/* Collected first: the objects' lock nests inside mmap_lock. */
	shadow_filemap_walk_objects(mapping->file->f_mapping,
				    shadow_file_objects_add, &objs);
	for (i = 0; i < objs.nr; i++) {
		__shadow_unmap_mapping_range(&objs.obj[i]->i_data,
					     offset >> PAGE_SHIFT,
					     (offset + len - 1) >> PAGE_SHIFT,
					     true);
		shadow_mapping_put(&objs.obj[i]->i_data);
	}
	kfree(objs.obj);
	return 0;
}

/*
 * Hang metadata on a page-cache page, or take one more engine reference
 * on the metadata it has. The page reference the caller got from the
 * page cache is used up: kept as the metadata's, or dropped.
 */
static struct page *shadow_file_page_attach(struct page *page,
					    struct address_space *mapping,
					    pgoff_t index)
{
	struct shadow_page *sp, *old;

	sp = kzalloc(sizeof(*sp), SHADOW_GFP);
	if (!sp) {
		put_page(page);
		return ERR_PTR(-ENOMEM);
	}
	atomic_set(&sp->refs, 1);
	sp->file = true;
	sp->mapping = mapping;
	sp->index = index;
	sp->id = BIT_ULL(62) | atomic64_inc_return(&shadow_last_file_page_id);

	xa_lock(&shadow_file_pages);
	old = __xa_cmpxchg(&shadow_file_pages, page_to_pfn(page), NULL, sp,
			   SHADOW_GFP);
	if (old) {
		if (!xa_is_err(old))
			/* Its refs cannot reach 0: that is done under the lock. */
			atomic_inc(&old->refs);
		xa_unlock(&shadow_file_pages);
		kfree(sp);
		put_page(page);
		return xa_is_err(old) ? ERR_PTR(xa_err(old)) : page;
	}
	xa_unlock(&shadow_file_pages);
	atomic_long_inc(&shadow_counters.file_pages);
	return page;
}

/**
 * shadow_file_put_page() - a file page's engine reference goes
 * @page: the page; with the last one, the metadata and the engine's page
 *        reference go
 *
 * Any context.
 */
void shadow_file_put_page(struct page *page)
{
	struct shadow_page *sp = shadow_file_page_meta(page);

	if (!atomic_dec_and_lock(&sp->refs, &shadow_file_pages.xa_lock))
		return;
	__xa_erase(&shadow_file_pages, page_to_pfn(page));
	xa_unlock(&shadow_file_pages);
	atomic_long_dec(&shadow_counters.file_pages);
	kfree(sp);
	put_page(page);
}

/**
 * shadow_file_page_mkdirty() - a PTE that mapped @page was dirty
 * @page: a file page the caller holds
 *
 * set_page_dirty(), as zap_pte_range() and try_to_unmap_one() do, unless
 * truncation took the page out of its file. Any context.
 */
void shadow_file_page_mkdirty(struct page *page)
{
	WRITE_ONCE(shadow_page_meta(page)->dirty, true);
	if (READ_ONCE(page->mapping))
		set_page_dirty(page);
}

/*
 * filemap_fault(): the page at @index of the VMA's file, read in when it
 * is not cached (*@major), with an engine reference. Past end of file,
 * or when it cannot be read, -EFAULT (VM_FAULT_SIGBUS).
 */
static struct page *shadow_filemap_fault(struct shadow_vma *vma,
					 pgoff_t index, bool *major)
{
	struct file *file = shadow_vma_file(vma);
	struct address_space *mapping = file->f_mapping;
	struct folio *folio;
	struct page *page;

	if (index >= shadow_file_size_pages(file))
		return ERR_PTR(-EFAULT);

	folio = shadow_filemap_get_folio(mapping, index);
	*major = !folio || !folio_test_uptodate(folio);
	if (folio)
		folio_put(folio);

	if (shadow_shmem_mapping(mapping))
		page = shmem_read_mapping_page_gfp(mapping, index,
						   mapping_gfp_mask(mapping));
	else
		page = read_mapping_page(mapping, index, file);
	if (IS_ERR(page))
		return PTR_ERR(page) == -ENOMEM ? page : ERR_PTR(-EFAULT);

	/* Truncated meanwhile: SIGBUS, as filemap_fault() rechecks. */
	if (index >= shadow_file_size_pages(file)) {
		put_page(page);
		return ERR_PTR(-EFAULT);
	}
	return shadow_file_page_attach(page, mapping, index);
}

/*
 * Map @page, which carries an engine reference for the PTE, at @addr
 * (finish_fault -> do_set_pte): young, and dirty and writable for a write
 * to a shared mapping. Returns -EAGAIN when the PTE was set meanwhile.
 */
static int shadow_file_set_pte(struct shadow_mm *mm, struct shadow_vma *vma,
			       unsigned long addr, pte_t *pte,
			       struct page *page, unsigned int flags,
			       bool major)
{
	pte_t entry = pte_mkyoung(mk_pte(page, __pgprot(vma->vm_page_prot)));

	if (flags & SHADOW_FAULT_WRITE) {
		entry = pte_mkdirty(entry);
		if (vma->vm_flags & VM_WRITE)
			entry = shadow_pte_mkwrite(entry);
	}
	spin_lock(&mm->page_table_lock);
	if (!pte_none(*pte)) {
		spin_unlock(&mm->page_table_lock);
		return -EAGAIN;
	}
	atomic_inc(&shadow_page_meta(page)->mapcount);
	mm->rss_file++;
	if (major)
		mm->maj_flt++;
	else
		mm->min_flt++;
	shadow_set_pte(pte, entry);
	trace_shadow_mm_fault(mm, addr, flags, SHADOW_FK_FILE);
	spin_unlock(&mm->page_table_lock);
	atomic_long_inc(&shadow_counters.file_faults);
	return 0;
}

/*
 * filemap_map_pages()'s next_uptodate_page(): the page at @index if the
 * file has it cached, up to date, not locked nor under read-ahead, and
 * within i_size, with an engine reference; else NULL.
 */
static struct page *shadow_next_uptodate_page(struct file *file,
					      pgoff_t index)
{
	struct address_space *mapping = file->f_mapping;
	struct folio *folio;
	struct page *page;

	folio = shadow_filemap_get_folio(mapping, index);
	if (!folio)
		return NULL;
	if (folio_test_locked(folio) || !folio_test_uptodate(folio) ||
	    folio_test_readahead(folio) || folio->mapping != mapping ||
	    index >= shadow_file_size_pages(file)) {
		folio_put(folio);
		return NULL;
	}
	page = folio_file_page(folio, index);
	if (PageHWPoison(page)) {
		folio_put(folio);
		return NULL;
	}
	get_page(page);
	folio_put(folio);
	page = shadow_file_page_attach(page, mapping, index);
	return IS_ERR(page) ? NULL : page;
}

/*
 * do_fault_around() -> filemap_map_pages(): map the pages the file already
 * has cached around a read fault at @addr, wherever no PTE is set, in
 * shadow_fault_around_range(), all young (x86 does not want old
 * prefaulted PTEs). @pte is @addr's PTE.
 *
 * Return: true when @addr itself was mapped (VM_FAULT_NOPAGE).
 */
static shadow_flow bool shadow_filemap_map_pages(struct shadow_mm *mm,
						 struct shadow_vma *vma,
						 unsigned long addr,
						 pte_t *pte,
						 unsigned int flags)
{
	struct file *file = shadow_vma_file(vma);
	unsigned long start, end, a;
	bool mapped = false;
	pte_t *ptep;

	ptep = shadow_fault_around_range(vma, addr, pte, &start, &end);
	for (a = start; a < end; a += PAGE_SIZE, ptep++) {
		struct page *page;
		pte_t entry;

		if (!pte_none(READ_ONCE(*ptep)))
			continue;
		page = shadow_next_uptodate_page(file,
						 shadow_file_index(vma, a));
		if (!page)
			continue;
		entry = pte_mkyoung(mk_pte(page, __pgprot(vma->vm_page_prot)));
		if (shadow_do_set_pte(mm, ptep, page, entry, &mm->rss_file,
				      a == addr) && a == addr) {
			mapped = true;
			trace_shadow_mm_fault(mm, addr, flags, SHADOW_FK_FILE);
		}
	}
	if (mapped)
		atomic_long_inc(&shadow_counters.file_faults);
	return mapped;
}

/* do_shared_fault(), and do_read_fault()'s own page: map the file's page. */
static shadow_flow int shadow_do_read_fault_file(struct shadow_mm *mm,
						 struct shadow_vma *vma,
						 unsigned long addr,
						 pte_t *pte,
						 unsigned int flags)
{
	struct page *page;
	bool major;
	int ret;

	page = shadow_filemap_fault(vma, shadow_file_index(vma, addr), &major);
	if (IS_ERR(page))
		return PTR_ERR(page);
	ret = shadow_file_set_pte(mm, vma, addr, pte, page, flags, major);
	if (ret) {
		/* Another fault mapped it first: the access retries. */
		shadow_put_page(page);
		return 0;
	}
	return 0;
}

/*
 * do_cow_fault(): a write to a private file mapping where nothing is
 * mapped: a private anonymous copy of the file's page, the file untouched.
 */
static shadow_flow int shadow_do_cow_fault(struct shadow_mm *mm,
					   struct shadow_vma *vma,
					   unsigned long addr, pte_t *pte,
					   unsigned int flags)
{
	struct page *page, *new;
	pte_t entry;
	bool major;

	if (shadow_anon_vma_prepare(mm, vma))
		return -ENOMEM;
	new = shadow_alloc_page(true);
	if (!new)
		return -ENOMEM;
	page = shadow_filemap_fault(vma, shadow_file_index(vma, addr), &major);
	if (IS_ERR(page)) {
		shadow_put_page(new);
		return PTR_ERR(page);
	}
	copy_highpage(new, page);
	shadow_put_page(page);

	shadow_page_add_new_anon_rmap(new, vma, addr);
	entry = pte_mkyoung(pte_mkdirty(mk_pte(new,
					       __pgprot(vma->vm_page_prot))));
	if (vma->vm_flags & VM_WRITE)
		entry = shadow_pte_mkwrite(entry);

	spin_lock(&mm->page_table_lock);
	if (!pte_none(*pte)) {
		spin_unlock(&mm->page_table_lock);
		shadow_put_page(new);
		return 0;
	}
	atomic_set(&shadow_page_meta(new)->mapcount, 1);
	mm->rss_anon++;
	if (major)
		mm->maj_flt++;
	else
		mm->min_flt++;
	shadow_set_pte(pte, entry);
	trace_shadow_mm_fault(mm, addr, flags, SHADOW_FK_FILE_COW);
	spin_unlock(&mm->page_table_lock);
	atomic_long_inc(&shadow_counters.file_faults);
	return 0;
}

/**
 * shadow_file_fault_beyond_eof() - a fault past end of file
 * @mm: the address space, mmap_lock held for reading
 * @vma: the VMA, mapping a file
 * @addr: page-aligned address, past the end of file
 * @flags: SHADOW_FAULT_*
 *
 * A page mapped there before the file was truncated goes first (what
 * unmap_mapping_range() would have done). A read fault maps what
 * fault-around finds, as do_read_fault() does before filemap_fault()
 * fails. A write to a private mapping gives the VMA its anon_vma, as
 * do_cow_fault() does before filemap_fault() fails: a later fork copies
 * the VMA's PTEs (vma_needs_copy()).
 *
 * Return: -EFAULT (VM_FAULT_SIGBUS), or -ENOMEM when the anon_vma cannot
 * be allocated (VM_FAULT_OOM).
 */
int shadow_file_fault_beyond_eof(struct shadow_mm *mm, struct shadow_vma *vma,
				 unsigned long addr, unsigned int flags)
{
	pte_t *pte;

	shadow_mmap_assert_locked(mm);
	shadow_zap_page_range_single(mm, vma, addr, addr + PAGE_SIZE);
	if (flags & SHADOW_FAULT_WRITE) {
		if (!(vma->vm_flags & VM_SHARED) &&
		    shadow_anon_vma_prepare(mm, vma))
			return -ENOMEM;
		return -EFAULT;
	}
	pte = shadow_pte_alloc(mm, addr);
	if (pte && pte_none(READ_ONCE(*pte)))
		shadow_filemap_map_pages(mm, vma, addr, pte, flags);
	return -EFAULT;
}

/**
 * shadow_do_file_fault() - a fault on a none PTE of a file VMA (do_fault)
 * @mm: the address space, mmap_lock held for reading
 * @vma: the VMA, mapping a file
 * @addr: page-aligned address
 * @pte: its PTE
 * @flags: SHADOW_FAULT_*
 *
 * A read maps the page-cache page (read-only in a private mapping), and
 * those the file has cached around it (fault-around); a
 * write to a private mapping maps a private copy (do_cow_fault); a write
 * to a shared one maps the page dirty and writable (do_shared_fault).
 *
 * Return: 0, -EFAULT (past end of file: SIGBUS), -ENOMEM.
 */
shadow_flow int shadow_do_file_fault(struct shadow_mm *mm,
				     struct shadow_vma *vma,
				     unsigned long addr, pte_t *pte,
				     unsigned int flags)
{
	shadow_mmap_assert_locked(mm);
	if (!(flags & SHADOW_FAULT_WRITE)) {
		/* do_read_fault(): fault-around first. */
		if (shadow_filemap_map_pages(mm, vma, addr, pte, flags))
			return 0;
		return shadow_do_read_fault_file(mm, vma, addr, pte, flags);
	}
	if (!(vma->vm_flags & VM_SHARED))
		return shadow_do_cow_fault(mm, vma, addr, pte, flags);
	return shadow_do_read_fault_file(mm, vma, addr, pte, flags);
}
